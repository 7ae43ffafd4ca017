// HTTP plumbing shared by the services: the error body format, status codes per error code, and the Fastify
// error handlers. Error bodies: {"error": {"code": "HOTSTATE_ERR_...", "message": "...", "problems"?: [...]}};
// never a stack trace.
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
} from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { httpMetrics } from '../lib/metrics.ts';
import { HotstateError, ValidationError, type ErrorCode } from '../lib/errors.ts';
import { parseJsonExact, stringifyJson } from '../lib/codec/json-values.ts';

/** The HTTP status of every error code (docs/errors.md shows the same). */
export const httpStatusByCode: Readonly<Record<ErrorCode, number>> = {
  HOTSTATE_ERR_CONFIG_INVALID: 400,
  HOTSTATE_ERR_INPUT_MALFORMED: 400,
  HOTSTATE_ERR_VALIDATION_VALUE: 400,
  HOTSTATE_ERR_VALIDATION_KEY: 400,
  HOTSTATE_ERR_VALIDATION_SIZE: 400,
  HOTSTATE_ERR_TOKEN_MALFORMED: 400,
  HOTSTATE_ERR_TOKEN_TOPIC: 400,
  HOTSTATE_ERR_AUTH_REQUIRED: 401,
  HOTSTATE_ERR_AUTH_FORBIDDEN: 403,
  HOTSTATE_ERR_RESOURCE_NOT_FOUND: 404,
  HOTSTATE_ERR_REGISTRY_SCHEMA_NOT_FOUND: 404,
  HOTSTATE_ERR_LIST_CURSOR_EXPIRED: 410,
  HOTSTATE_ERR_VIEW_PINNED: 409,
  HOTSTATE_ERR_VERSION_UNREACHABLE: 409,
  HOTSTATE_ERR_SNAPSHOT_UNUSABLE: 500,
  HOTSTATE_ERR_FEED_RESYNC_NEEDED: 410,
  HOTSTATE_ERR_HTTP_BODY_TOO_LARGE: 413,
  HOTSTATE_ERR_HTTP_HEADERS_TOO_LARGE: 431,
  HOTSTATE_ERR_HTTP_REQUEST_TIMEOUT: 408,
  HOTSTATE_ERR_SERVER_INTERNAL: 500,
  HOTSTATE_ERR_LIFECYCLE_NOT_STARTED: 500,
  HOTSTATE_ERR_SERIALIZATION_DECODE: 500,
  HOTSTATE_ERR_TOPIC_SETTINGS: 500,
  HOTSTATE_ERR_REGISTRY_REJECTED: 502,
  HOTSTATE_ERR_REGISTRY_MISADDRESSED: 502,
  HOTSTATE_ERR_REGISTRY_AUTHENTICATION: 502,
  HOTSTATE_ERR_TRANSPORT_AUTHENTICATION: 502,
  HOTSTATE_ERR_TRANSPORT_DENIED: 502,
  HOTSTATE_ERR_SERVICE_UNREACHABLE: 502,
  HOTSTATE_ERR_VIEW_NOT_READY: 503,
  HOTSTATE_ERR_SERVICE_SHUTTING_DOWN: 503,
  HOTSTATE_ERR_FEED_LIMIT_REACHED: 503,
  HOTSTATE_ERR_LIFECYCLE_CLOSED: 503,
  HOTSTATE_ERR_REGISTRY_UNAVAILABLE: 503,
  HOTSTATE_ERR_CONNECT_UNAVAILABLE: 503,
  HOTSTATE_ERR_TRANSPORT_KAFKA: 503,
  HOTSTATE_ERR_WAIT_TIMEOUT: 504,
  HOTSTATE_ERR_COMMAND_TIMEOUT: 504,
  HOTSTATE_ERR_TRANSPORT_TIMEOUT: 504,
  HOTSTATE_ERR_TRANSPORT_UNCERTAIN: 504,
};

const maxParamLength = 8192;

const errorBody = (error: HotstateError): Record<string, unknown> => ({
  error: {
    code: error.code,
    message: error.message,
    ...(error instanceof ValidationError ? { problems: error.problems } : {}),
  },
});

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (headers over 16 KiB, a request line that is not
 * HTTP, a client too slow to send its request) get our error body too.
 */
function clientErrorHandler(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const refusal =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new HotstateError('HOTSTATE_ERR_HTTP_HEADERS_TOO_LARGE', 'request headers above 16 KiB')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new HotstateError('HOTSTATE_ERR_HTTP_REQUEST_TIMEOUT', 'the request did not arrive in time')
        : new HotstateError('HOTSTATE_ERR_INPUT_MALFORMED', `malformed HTTP request (${error.code ?? error.message})`);
  const status = httpStatusByCode[refusal.code];
  const body = JSON.stringify(errorBody(refusal));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${String(status)} ${STATUS_CODES[status] ?? ''}\r\nContent-Length: ${String(Buffer.byteLength(body))}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

export function sendError(reply: FastifyReply, error: HotstateError): FastifyReply {
  if (error.retriable) void reply.header('retry-after', '1');
  return reply.code(httpStatusByCode[error.code]).send(errorBody(error));
}

/** Converts Fastify's own errors (bad JSON, body limit, schema) and anything unexpected into our format. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof HotstateError) return sendError(reply, error);
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return sendError(
        reply,
        new HotstateError(
          'HOTSTATE_ERR_HTTP_BODY_TOO_LARGE',
          `request body above ${String(app.initialConfig.bodyLimit)} bytes`,
        ),
      );
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return sendError(reply, new HotstateError('HOTSTATE_ERR_INPUT_MALFORMED', error.message));
    }
    request.log.error({ err: error }, 'unexpected error');
    return reply
      .code(500)
      .send({ error: { code: 'HOTSTATE_ERR_SERVER_INTERNAL', message: 'internal error; see the service log' } });
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      new HotstateError(
        'HOTSTATE_ERR_RESOURCE_NOT_FOUND',
        `no route ${request.method} ${request.url.split('?')[0] ?? ''}`,
      ),
    ),
  );
}

/**
 * Once shutdown began, new API requests are refused with 503 HOTSTATE_ERR_SERVICE_SHUTTING_DOWN (retriable) while
 * requests already accepted finish normally: a refused write was never attempted. Every answer sent after that point
 * closes its connection: the HTTP server only closes connections that are idle when it stops, so a keep-alive
 * connection whose request finished later would hold the shutdown open until the client leaves.
 */
export function refuseWhileShuttingDown(app: FastifyInstance, shuttingDown: () => boolean): void {
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (shuttingDown()) void reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onRequest', (request, reply, done) => {
    if (!shuttingDown() || !request.url.startsWith('/v1/')) {
      done();
      return;
    }
    done(
      new HotstateError(
        'HOTSTATE_ERR_SERVICE_SHUTTING_DOWN',
        'the service is shutting down; retry against another instance',
        { retriable: true },
      ),
    );
  });
}

/** Request and response bodies as JSON without loss: exact longs, named non-finite numbers (json-values.ts). */
function exactJson(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonExact(body as string));
    } catch (error) {
      done(
        new HotstateError(
          'HOTSTATE_ERR_INPUT_MALFORMED',
          `request body is not valid JSON: ${(error as Error).message}`,
        ),
        undefined,
      );
    }
  });
  app.setReplySerializer((payload) => stringifyJson(payload));
}

export interface HttpAppOptions {
  readonly service: 'state' | 'ingest';
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly bodyLimitBytes: number;
  readonly shuttingDown: () => boolean;
  /** Whether the service can take traffic (besides not shutting down), with details for the /readyz body. */
  /** Readiness, and details for the request's Authorization header (a service may show more to a token). */
  readonly readiness: (authorization?: string) => {
    readonly ready: boolean;
    readonly details?: Record<string, unknown>;
  };
}

/**
 * A Fastify instance with the services' common settings: logger, body limit, error format, drain, HTTP metrics,
 * and the routes every service has: /healthz, /readyz, /metrics.
 */
export function createHttpApp({
  service,
  logger,
  metrics,
  bodyLimitBytes,
  shuttingDown,
  readiness,
}: HttpAppOptions): FastifyInstance {
  const app = Fastify({
    // The cast keeps the instance typed with Fastify's base logger (pino's own type makes a different generic).
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: bodyLimitBytes,
    // Per-request logs would cost more than a key read; errors are still logged by our error handler.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: false, // refuseWhileShuttingDown answers instead, in the documented error format
    routerOptions: { maxParamLength }, // keys up to the producer's 1 KiB cap, percent-encoded, fit a path segment
    // URLs the router cannot decode (bad percent-encoding, a lone surrogate) or path segments above the cap
    frameworkErrors: (error, request, reply) => {
      void sendError(
        reply,
        new HotstateError(
          'HOTSTATE_ERR_INPUT_MALFORMED',
          error.code === 'FST_ERR_MAX_PARAM_LENGTH'
            ? `a path segment is longer than ${String(maxParamLength)} characters`
            : `${request.url.slice(0, 200)} is not a valid URL (bad percent-encoding?)`,
        ),
      );
    },
    clientErrorHandler,
  });
  installErrorHandlers(app);
  exactJson(app);
  refuseWhileShuttingDown(app, shuttingDown);
  const http = httpMetrics(metrics);
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    http.requests.inc({ service, method: request.method, route, status: String(reply.statusCode) });
    http.duration.observe({ service, method: request.method, route }, reply.elapsedTime / 1000);
    done();
  });
  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/readyz', (request, reply) => {
    const { ready, details } = readiness(request.headers.authorization);
    const serving = ready && !shuttingDown();
    return reply.code(serving ? 200 : 503).send({ ready: serving, shuttingDown: shuttingDown(), ...details });
  });
  app.get('/metrics', async (_request, reply) =>
    reply.header('content-type', metrics.contentType).send(await metrics.metrics()),
  );
  return app;
}
