// Kafka Connect's REST API, as far as hotstate uses it: register (idempotent), list, status with task traces,
// committed source offsets, remove. Failures name the worker, the request and what Connect said.
import { HotstateError } from '../errors.ts';

export interface ConnectorStatus {
  readonly name: string;
  readonly connector: { readonly state: string; readonly worker_id: string };
  readonly tasks: ReadonlyArray<{ readonly id: number; readonly state: string; readonly trace?: string }>;
}

export class ConnectClient {
  readonly url: string;

  constructor(url: string) {
    this.url = url.replace(/\/+$/, '');
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new HotstateError(
        'HOTSTATE_ERR_CONNECT_UNAVAILABLE',
        `Kafka Connect at ${this.url} does not answer ${method} ${path}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`,
        { retriable: true, cause: error },
      );
    }
    const text = await response.text();
    if (response.status === 404) return undefined;
    if (!response.ok) {
      const message = (() => {
        try {
          return (JSON.parse(text) as { message?: string }).message ?? text;
        } catch {
          return text;
        }
      })();
      throw new HotstateError(
        response.status >= 500 ? 'HOTSTATE_ERR_CONNECT_UNAVAILABLE' : 'HOTSTATE_ERR_CONFIG_INVALID',
        `Kafka Connect at ${this.url} refused ${method} ${path} (HTTP ${String(response.status)}): ${message.slice(0, 2000)}`,
        { retriable: response.status >= 500 },
      );
    }
    return text === '' ? undefined : JSON.parse(text);
  }

  /** Creates or updates the connector with this configuration (PUT is idempotent). */
  async put(name: string, config: Record<string, string>): Promise<void> {
    await this.call('PUT', `/connectors/${encodeURIComponent(name)}/config`, config);
  }

  async list(): Promise<string[]> {
    return ((await this.call('GET', '/connectors')) as string[] | undefined) ?? [];
  }

  async config(name: string): Promise<Record<string, string> | undefined> {
    return (await this.call('GET', `/connectors/${encodeURIComponent(name)}/config`)) as
      Record<string, string> | undefined;
  }

  async status(name: string): Promise<ConnectorStatus | undefined> {
    return (await this.call('GET', `/connectors/${encodeURIComponent(name)}/status`)) as ConnectorStatus | undefined;
  }

  /** The source offsets Connect committed for the connector (Debezium: lsn, lsn_commit, txId, …). */
  async offsets(name: string): Promise<Array<Record<string, unknown>>> {
    const answer = (await this.call('GET', `/connectors/${encodeURIComponent(name)}/offsets`)) as
      { offsets?: Array<{ offset?: Record<string, unknown> }> } | undefined;
    return (answer?.offsets ?? []).map((o) => o.offset ?? {});
  }

  /** Removes the connector; false when there was none. */
  async remove(name: string): Promise<boolean> {
    const existed = (await this.status(name)) !== undefined;
    if (existed) await this.call('DELETE', `/connectors/${encodeURIComponent(name)}`);
    return existed;
  }
}
