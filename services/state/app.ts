// The state service's HTTP app, built without listening (tests inject requests; main.ts listens).
import { createReadStream } from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { HotstateError } from '../lib/errors.ts';
import type { HotstateView, Item } from '../lib/view/view.ts';
import { createHttpApp } from '../common/http.ts';
import { bearerMatches } from '../common/bearer.ts';
import { tokenRefusal, type TokenSet } from '../common/token-set.ts';
import { readSnapshotHeader, snapshotVersion } from '../lib/snapshot/format.ts';
import type { SnapshotFile } from '../lib/snapshot/snapshot-dir.ts';
import { formatVersionToken } from '../lib/version-token.ts';
import { CursorStore } from './cursors.ts';
import { ChangeFeeds, type FeedLimits } from './change-feed.ts';
import type { ChangeLog } from './change-log.ts';

export interface StateAppOptions {
  readonly views: ReadonlyMap<string, HotstateView>;
  /** Recent changes per dataset, for the change feed. */
  readonly changeLogs: ReadonlyMap<string, ChangeLog>;
  readonly metrics: Registry;
  readonly logger: Logger;
  /** Bound on a `minVersion` wait. */
  readonly minVersionTimeoutMs: number;
  readonly cursorTtlMs: number;
  readonly bodyLimitBytes: number;
  /** /readyz answers 503 once a dataset has been stale (not advancing while records wait) for longer than this. */
  readonly readyMaxStaleMs: number;
  readonly feedLimits: FeedLimits;
  /** True once shutdown began: readiness fails so traffic drains. */
  readonly shuttingDown: () => boolean;
  /** The newest snapshot file of a dataset, for peers (GET /v1/datasets/:dataset/snapshot). */
  readonly snapshots?: { newest(dataset: string): Promise<SnapshotFile | undefined> };
  /** Bearer token of operator endpoints; without it they answer 401. */
  readonly operatorToken?: string;
  /** When set, reads need one of these bearer tokens (each optionally limited to some datasets). */
  readonly readTokens?: TokenSet;
}

/** What a read waits for first: a version token, or a database position (CDC datasets). */
interface MinimumQuery {
  readonly minVersion?: string;
  readonly minSourceLsn?: string;
}

const itemBody = (item: Item): Record<string, unknown> => ({
  key: item.key,
  value: item.value,
  partition: item.partition,
  offset: item.offset,
  timestamp: item.timestamp,
  schemaId: item.schemaId,
  ...(item.source === undefined ? {} : { source: item.source }),
});

export function buildStateApp(options: StateAppOptions): FastifyInstance {
  const tooStale = (status: ReturnType<HotstateView['status']>): boolean =>
    status.stale !== undefined && Date.now() - status.stale.since > options.readyMaxStaleMs;
  const { readTokens } = options;
  /** The datasets a request's read token may read (all of them when the service has no read tokens). */
  const visibleTo = (authorization: string | undefined): Set<string> => {
    const names = [...options.views.keys()];
    return new Set(readTokens ? readTokens.allowed(authorization, names) : names);
  };
  // Ready when every dataset replayed, none failed, and none has been stale for longer than the policy allows. The
  // details show only the datasets the request's read token may read (probes carry none: they need only the code).
  const readiness = (authorization?: string): { ready: boolean; details: Record<string, unknown> } => {
    const statuses = [...options.views].map(([name, view]) => [name, view.status()] as const);
    const visible = visibleTo(authorization);
    return {
      ready: statuses.every(([, s]) => s.ready && !tooStale(s)),
      details: {
        datasets: Object.fromEntries(statuses.filter(([name]) => visible.has(name))),
        ...(visible.size < statuses.length ? { datasetsNotShown: statuses.length - visible.size } : {}),
      },
    };
  };
  const app = createHttpApp({
    service: 'state',
    logger: options.logger,
    metrics: options.metrics,
    bodyLimitBytes: options.bodyLimitBytes,
    shuttingDown: options.shuttingDown,
    readiness,
  });
  // Reads need a read token when the service has some; operator routes (config.operator) check the operator token.
  if (readTokens) {
    app.addHook('onRequest', (request, _reply, done) => {
      if (
        !request.url.startsWith('/v1/') ||
        (request.routeOptions.config as { operator?: boolean }).operator === true
      ) {
        done();
        return;
      }
      const { dataset } = request.params as { dataset?: string };
      done(tokenRefusal(readTokens, request.headers.authorization, dataset, 'reads'));
    });
  }
  const cursors = new CursorStore(options.cursorTtlMs);
  app.addHook('onClose', () => {
    cursors.closeAll();
  });

  const viewOf = (dataset: string): HotstateView => {
    const view = options.views.get(dataset);
    if (!view)
      throw new HotstateError(
        'HOTSTATE_ERR_RESOURCE_NOT_FOUND',
        `no dataset ${JSON.stringify(dataset)}; this service holds ${[...options.views.keys()].join(', ')}`,
      );
    return view;
  };
  /**
   * Waits for minVersion (a version token) or minSourceLsn (read-your-database-writes: a database LSN taken after
   * COMMIT) when given; a view that is not ready answers 503 rather than partial data.
   */
  const readable = async (dataset: string, query: MinimumQuery): Promise<HotstateView> => {
    const view = viewOf(dataset);
    const { minVersion, minSourceLsn } = query;
    if (minVersion !== undefined) await view.waitFor(minVersion, options.minVersionTimeoutMs);
    if (minSourceLsn !== undefined) await view.waitForSource({ lsn: minSourceLsn }, options.minVersionTimeoutMs);
    const status = view.status();
    if (!status.ready && minVersion === undefined && minSourceLsn === undefined)
      throw new HotstateError(
        'HOTSTATE_ERR_VIEW_NOT_READY',
        `dataset ${dataset} is not ready: ${status.reason ?? ''}`,
        { retriable: true },
      );
    return view;
  };
  const versioned = (reply: FastifyReply, token: string, view?: HotstateView): FastifyReply => {
    const status = view?.status();
    // A stale answer says so: how long the view has not advanced although records wait.
    if (status?.stale) reply.header('hotstate-stale-seconds', ((Date.now() - status.stale.since) / 1000).toFixed(1));
    // So does a pinned one: readers get the pinned version until an operator unpins the dataset.
    if (status?.pinned) reply.header('hotstate-pinned-since', new Date(status.pinned.since).toISOString());
    return reply.header('hotstate-version', token).header('etag', `"${token}"`);
  };

  // The listing shows only the datasets the request's read token may read.
  app.get('/v1/datasets', (request) => {
    const visible = visibleTo(request.headers.authorization);
    return {
      datasets: [...options.views]
        .filter(([name]) => visible.has(name))
        .map(([name, view]) => ({ name, ...view.status() })),
    };
  });

  app.get<{ Params: { dataset: string; key: string }; Querystring: MinimumQuery }>(
    '/v1/datasets/:dataset/keys/:key',
    async (request, reply) => {
      const view = await readable(request.params.dataset, request.query);
      const token = view.token;
      if (request.headers['if-none-match'] === `"${token}"`) return versioned(reply, token).code(304).send();
      const item = view.get(request.params.key);
      if (!item)
        throw new HotstateError(
          'HOTSTATE_ERR_RESOURCE_NOT_FOUND',
          `no key ${JSON.stringify(request.params.key)} in ${request.params.dataset} at version ${token}`,
        );
      return versioned(reply, token, view).send({
        version: token,
        ...itemBody(item),
        poisoned: view.isPoisoned(item.key),
      });
    },
  );

  app.post<{ Params: { dataset: string }; Querystring: MinimumQuery; Body: { keys?: unknown } | null }>(
    '/v1/datasets/:dataset/get',
    async (request, reply) => {
      const keys = request.body?.keys;
      if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string') || keys.length > 10_000) {
        throw new HotstateError(
          'HOTSTATE_ERR_INPUT_MALFORMED',
          'body must be {"keys": [string, ...]} with at most 10000 keys',
        );
      }
      const view = await readable(request.params.dataset, request.query);
      const { token, items } = view.getMany(keys as string[]);
      return versioned(reply, token, view).send({
        version: token,
        items: Object.fromEntries([...items].map(([key, item]) => [key, itemBody(item)])),
        missing: (keys as string[]).filter((k) => !items.has(k)),
      });
    },
  );

  app.get<{
    Params: { dataset: string };
    Querystring: { prefix?: string; limit?: string; cursor?: string } & MinimumQuery;
  }>('/v1/datasets/:dataset/items', async (request, reply) => {
    const limit = request.query.limit === undefined ? 100 : Number(request.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
      throw new HotstateError('HOTSTATE_ERR_INPUT_MALFORMED', 'limit must be an integer from 1 to 10000');
    const page =
      request.query.cursor === undefined
        ? cursors.first(
            request.params.dataset,
            (await readable(request.params.dataset, request.query)).snapshot(),
            request.query.prefix ?? '',
            limit,
          )
        : cursors.next(viewOf(request.params.dataset).topic, request.query.cursor, limit); // an unknown dataset is 404, not an expired cursor
    return versioned(reply, page.version).send({
      version: page.version,
      items: page.items.map(itemBody),
      nextCursor: page.nextCursor ?? null,
    });
  });

  // Server-Sent Events (change-feed.ts): answers 410 / 400 / 503 before any byte of the stream is sent.
  const feeds = new ChangeFeeds(options.feedLimits, options.logger);
  app.addHook('onClose', () => {
    feeds.closeAll();
  });
  // Operator endpoints: bearer HOTSTATE_OPERATOR_TOKEN, compared in constant time.
  const requireOperator = (authorization: string | undefined): void => {
    if (options.operatorToken === undefined || !bearerMatches(authorization, options.operatorToken)) {
      throw new HotstateError(
        'HOTSTATE_ERR_AUTH_REQUIRED',
        'operator endpoints need Authorization: Bearer <HOTSTATE_OPERATOR_TOKEN> (and the service needs that setting)',
      );
    }
  };

  // A key's versions still in the log (reads the key's partition from its start).
  app.get<{ Params: { dataset: string; key: string }; Querystring: { allPartitions?: string } }>(
    '/v1/datasets/:dataset/keys/:key/history',
    { config: { operator: true } },
    async (request) => {
      const view = viewOf(request.params.dataset);
      requireOperator(request.headers.authorization);
      return {
        key: request.params.key,
        versions: await view.history(request.params.key, { allPartitions: request.query.allPartitions === 'true' }),
      };
    },
  );

  // Pin what readers of a dataset see to its current version (applying goes on underneath), and unpin it.
  app.post<{ Params: { dataset: string }; Body: { reason?: unknown } | null }>(
    '/v1/datasets/:dataset/pin',
    { config: { operator: true } },
    (request) => {
      const view = viewOf(request.params.dataset);
      requireOperator(request.headers.authorization);
      const reason = request.body?.reason ?? 'pinned by an operator';
      if (typeof reason !== 'string' || reason.length > 500)
        throw new HotstateError(
          'HOTSTATE_ERR_INPUT_MALFORMED',
          'body must be {} or {"reason": string of at most 500 characters}',
        );
      if (!view.status().ready)
        throw new HotstateError(
          'HOTSTATE_ERR_VIEW_NOT_READY',
          `dataset ${request.params.dataset} is not ready: a pin freezes a replayed version`,
          { retriable: true },
        );
      return { pinned: view.pin(reason) };
    },
  );
  app.post<{ Params: { dataset: string } }>(
    '/v1/datasets/:dataset/unpin',
    { config: { operator: true } },
    (request) => {
      const view = viewOf(request.params.dataset);
      requireOperator(request.headers.authorization);
      return { unpinned: view.unpin() ?? null, version: view.token };
    },
  );

  // The newest snapshot file, streamed, for a new instance to start from (HOTSTATE_SNAPSHOT_PEERS).
  app.get<{ Params: { dataset: string } }>(
    '/v1/datasets/:dataset/snapshot',
    { config: { operator: true } },
    async (request, reply) => {
      const { dataset } = request.params;
      viewOf(dataset);
      requireOperator(request.headers.authorization);
      const newest = await options.snapshots?.newest(dataset);
      if (!newest)
        throw new HotstateError(
          'HOTSTATE_ERR_RESOURCE_NOT_FOUND',
          `no snapshot of ${dataset} on this instance${options.snapshots ? ' yet' : ' (HOTSTATE_SNAPSHOT_DIR is not set)'}`,
        );
      const { header, fileBytes } = await readSnapshotHeader(newest.file);
      const token = formatVersionToken(snapshotVersion(header));
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', fileBytes)
        .header('hotstate-version', token)
        .header('hotstate-snapshot-created-at', new Date(header.createdAt).toISOString())
        .send(createReadStream(newest.file));
    },
  );

  app.get<{ Params: { dataset: string }; Querystring: { from?: string; prefix?: string } }>(
    '/v1/datasets/:dataset/changes',
    async (request, reply) => {
      const view = await readable(request.params.dataset, {});
      const log = options.changeLogs.get(request.params.dataset);
      if (!log)
        throw new HotstateError('HOTSTATE_ERR_RESOURCE_NOT_FOUND', `no change feed for ${request.params.dataset}`);
      const lastEventId = request.headers['last-event-id'];
      const from = (typeof lastEventId === 'string' ? lastEventId : undefined) ?? request.query.from ?? view.token;
      log.resumable(from);
      feeds.admit();
      reply.hijack();
      feeds.serve(reply.raw, request.params.dataset, log, from, request.query.prefix ?? '');
    },
  );

  return app;
}
