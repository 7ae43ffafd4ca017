// Writer schemas for a view's records, from a registry that may be misaddressed or down: probed at start (a
// misaddressed one refuses the start; one that does not answer yet is waited for when a record needs it), and
// fetched with backoff while it is down, the view showing `waiting-registry` with the reason meanwhile.
import { isHotstateError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { ViewStateMachine } from '../core/view-state.ts';
import type { WriterSchemas } from '../core/writer-schemas.ts';

export class SchemaResolution {
  private readonly schemas: WriterSchemas;
  private readonly machine: ViewStateMachine;
  private readonly log: Logger;

  constructor(schemas: WriterSchemas, machine: ViewStateMachine, log: Logger) {
    this.schemas = schemas;
    this.machine = machine;
    this.log = log;
  }

  async probeAtStart(): Promise<void> {
    try {
      await this.schemas.probe();
    } catch (error) {
      if (!isHotstateError(error, 'HOTSTATE_ERR_REGISTRY_UNAVAILABLE')) throw error;
      this.log.warn(
        { reason: error.message },
        'the schema registry does not answer yet; the replay waits for it when a record needs a schema',
      );
    }
  }

  /**
   * Settles the ids (of the values' subject unless other schemas are given); while the registry is down, waits with backoff in `waiting-registry`, then returns to where
   * the view was (`ready` or `replaying`). True when it waited: the caller checks readiness again.
   */
  async settle(ids: readonly number[], schemas: WriterSchemas = this.schemas): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await schemas.settle(ids);
        if (this.machine.name !== 'waiting-registry') return false;
        this.log.info('schema registry reachable again');
        const resume = this.machine.resumeAfterWait;
        this.machine.to(resume, { reason: resume === 'ready' ? undefined : 'replaying' });
        return true;
      } catch (error) {
        if (!isHotstateError(error, 'HOTSTATE_ERR_REGISTRY_UNAVAILABLE') || this.machine.name === 'closed') throw error;
        const reason = `waiting for the schema registry to resolve writer schema(s) ${ids.join(', ')}: ${error.message}`;
        if (this.machine.name !== 'waiting-registry' && this.machine.can('waiting-registry'))
          this.machine.to('waiting-registry', { reason });
        this.log.warn({ attempt }, reason);
        await new Promise((resolve) => setTimeout(resolve, Math.min(200 * 2 ** attempt, 5000)));
      }
    }
  }
}
