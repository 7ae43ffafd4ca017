// Graceful shutdown for service entry points: on SIGTERM/SIGINT readiness fails first (traffic drains), the HTTP
// server stops accepting and finishes in-flight requests, then the Kafka side is flushed and closed. Exit 0 when all
// of that finished within the timeout, 1 otherwise.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

export interface Lifecycle {
  readonly shuttingDown: () => boolean;
  /** Registers what to close after the HTTP server (producers, views), in order. */
  readonly onShutdown: (close: () => Promise<void>) => void;
  readonly attach: (app: FastifyInstance) => void;
}

export function createLifecycle(logger: Logger, timeoutMs: number): Lifecycle {
  let stopping = false;
  let app: FastifyInstance | undefined;
  const closers: Array<() => Promise<void>> = [];
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown did not finish in time');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    try {
      const started = Date.now();
      await app?.close(); // stops accepting, waits for in-flight requests
      logger.info({ ms: Date.now() - started }, 'HTTP server closed');
      for (const close of closers) await close();
      logger.info({ ms: Date.now() - started }, 'shut down cleanly');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.once(signal, () => {
      void shutdown(signal);
    });
  return {
    shuttingDown: () => stopping,
    onShutdown: (close) => {
      closers.push(close);
    },
    attach: (instance) => {
      app = instance;
    },
  };
}
