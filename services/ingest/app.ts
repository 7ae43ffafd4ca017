// The ingest service's HTTP app, built without listening: upserts, deletes and batches for each dataset, behind a
// bearer token, validated against the dataset's schema before anything is sent.
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { bearerMatches } from '../common/bearer.ts';
import { tokenRefusal, type TokenSet } from '../common/token-set.ts';
import { HotstateError } from '../lib/errors.ts';
import type { HotstateProducer, WriteResult } from '../lib/producer/producer.ts';
import type { Update } from '../lib/producer/prepare.ts';
import { createHttpApp } from '../common/http.ts';
import { rollbackDataset } from '../lib/history/rollback.ts';
import type { Transport } from '../lib/transport/transport.ts';
import type { SchemaSource } from '../lib/core/writer-schemas.ts';

export interface IngestAppOptions {
  readonly producers: ReadonlyMap<string, HotstateProducer>;
  /** Who may write (HOTSTATE_INGEST_TOKEN and/or HOTSTATE_INGEST_TOKENS_FILE, each token optionally per dataset). */
  readonly tokens: TokenSet;
  readonly metrics: Registry;
  readonly logger: Logger;
  readonly bodyLimitBytes: number;
  readonly maxBatchRecords: number;
  readonly shuttingDown: () => boolean;
  /** Bearer token of operator endpoints (rollback); without it they answer 401. Never the ingest token. */
  readonly operatorToken?: string;
  /** What operator endpoints read the topics and schemas with. */
  readonly reads?: { readonly transport: Transport; readonly schemaSource: SchemaSource };
}

const writeBody = (w: WriteResult): Record<string, unknown> => ({
  key: w.key,
  operation: w.operation,
  partition: w.partition,
  offset: w.offset,
  token: w.token,
});

export function buildIngestApp(options: IngestAppOptions): FastifyInstance {
  const app = createHttpApp({
    service: 'ingest',
    logger: options.logger,
    metrics: options.metrics,
    bodyLimitBytes: options.bodyLimitBytes,
    shuttingDown: options.shuttingDown,
    readiness: () => ({ ready: true }),
  });

  // Writes need the ingest token; operator routes (config.operator) need the operator token, and only it.
  app.addHook('onRequest', (request, _reply, done) => {
    if (!request.url.startsWith('/v1/')) {
      done();
      return;
    }
    const operator = (request.routeOptions.config as { operator?: boolean }).operator === true;
    if (operator) {
      done(
        options.operatorToken !== undefined && bearerMatches(request.headers.authorization, options.operatorToken)
          ? undefined
          : new HotstateError(
              'HOTSTATE_ERR_AUTH_REQUIRED',
              'operator endpoints need Authorization: Bearer <HOTSTATE_OPERATOR_TOKEN> (and the service needs that setting)',
            ),
      );
      return;
    }
    const { dataset } = request.params as { dataset?: string };
    done(tokenRefusal(options.tokens, request.headers.authorization, dataset, 'writes'));
  });

  const producerOf = (dataset: string): HotstateProducer => {
    const producer = options.producers.get(dataset);
    if (!producer)
      throw new HotstateError(
        'HOTSTATE_ERR_RESOURCE_NOT_FOUND',
        `no dataset ${JSON.stringify(dataset)}; this service writes ${[...options.producers.keys()].join(', ')}`,
      );
    return producer;
  };

  app.put<{ Params: { dataset: string; key: string }; Body: unknown }>(
    '/v1/datasets/:dataset/records/:key',
    async (request) => {
      const producer = producerOf(request.params.dataset);
      if (typeof request.body !== 'object' || request.body === null || Array.isArray(request.body)) {
        throw new HotstateError('HOTSTATE_ERR_INPUT_MALFORMED', 'the body must be the record as a JSON object');
      }
      return writeBody(await producer.upsert(request.params.key, request.body));
    },
  );

  app.delete<{ Params: { dataset: string; key: string } }>('/v1/datasets/:dataset/records/:key', async (request) =>
    writeBody(await producerOf(request.params.dataset).delete(request.params.key)),
  );

  app.post<{ Params: { dataset: string }; Body: { updates?: unknown } | null }>(
    '/v1/datasets/:dataset/batch',
    async (request) => {
      const producer = producerOf(request.params.dataset);
      const updates = request.body?.updates;
      if (!Array.isArray(updates) || updates.length === 0 || updates.length > options.maxBatchRecords) {
        throw new HotstateError(
          'HOTSTATE_ERR_INPUT_MALFORMED',
          `body must be {"updates": [{"key": string, "value": object | null}, ...]} with 1 to ${String(options.maxBatchRecords)} updates`,
        );
      }
      for (const [i, update] of updates.entries()) {
        if (typeof update !== 'object' || update === null || !('key' in update) || !('value' in update)) {
          throw new HotstateError(
            'HOTSTATE_ERR_INPUT_MALFORMED',
            `updates[${String(i)}] must have "key" and "value" (null deletes)`,
          );
        }
      }
      const { results, token } = await producer.send(updates as Update[]);
      return { token, results: results.map(writeBody) };
    },
  );

  // Compensating writes back to an earlier version (a plan unless "confirm": true); the CLI also takes snapshot files.
  app.post<{
    Params: { dataset: string };
    Body: { to?: unknown; confirm?: unknown; maxDeleteShare?: unknown; allowMassDelete?: unknown } | null;
  }>('/v1/datasets/:dataset/rollback', { config: { operator: true } }, async (request) => {
    const producer = producerOf(request.params.dataset);
    const { to, confirm = false, maxDeleteShare = 0.5, allowMassDelete = false } = request.body ?? {};
    if (
      typeof to !== 'string' ||
      !to.startsWith('hs1.') ||
      typeof confirm !== 'boolean' ||
      typeof allowMassDelete !== 'boolean' ||
      typeof maxDeleteShare !== 'number' ||
      !(maxDeleteShare >= 0 && maxDeleteShare <= 1)
    ) {
      throw new HotstateError(
        'HOTSTATE_ERR_INPUT_MALFORMED',
        'body must be {"to": "<version token>", "confirm"?: boolean, "maxDeleteShare"?: 0..1, "allowMassDelete"?: boolean}',
      );
    }
    if (!options.reads)
      throw new HotstateError(
        'HOTSTATE_ERR_LIFECYCLE_NOT_STARTED',
        'this ingest service was built without reads for operator endpoints',
      );
    return rollbackDataset(
      { producer, ...options.reads },
      { kind: 'token', token: to },
      { confirm, maxDeleteShare, allowMassDelete },
    );
  });

  return app;
}
