// What every service entry point does first: validated configuration (exit 2 with every problem), a logger, a
// metrics registry with default process metrics, and the shutdown lifecycle; then its start, where every refusal
// is one JSON log line with the error's code and reason and the documented exit code, never a stack trace.
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { z } from 'zod';
import type { Logger } from 'pino';
import { isHotstateError } from '../lib/errors.ts';
import { createLogger } from '../lib/logger.ts';
import { loadConfig } from './config.ts';
import { exitCodeFor } from './exit-codes.ts';
import { createLifecycle, type Lifecycle } from './lifecycle.ts';

interface CommonSettings {
  readonly HOTSTATE_LOG_LEVEL: string;
  readonly HOTSTATE_SHUTDOWN_TIMEOUT_MS: number;
}

export interface Bootstrap<C> {
  readonly config: C;
  readonly logger: Logger;
  readonly metrics: Registry;
  readonly lifecycle: Lifecycle;
}

/** Logs why the service cannot start (code, reason, the error's causes for a bug) and exits with the code's exit code. */
export function refuseStart(logger: Logger, error: unknown): never {
  if (isHotstateError(error)) logger.fatal({ code: error.code, reason: error.message }, 'the service cannot start');
  else
    logger.fatal(
      { code: 'HOTSTATE_ERR_SERVER_INTERNAL', reason: (error as Error).message, err: error },
      'the service cannot start',
    );
  process.exit(exitCodeFor(error));
}

export function bootstrap<S extends z.ZodType<CommonSettings>>(
  name: string,
  schema: S,
): Bootstrap<Readonly<z.infer<S>>> {
  const logger = createLogger({ name });
  let config: Readonly<z.infer<S>>;
  try {
    config = loadConfig(schema, process.env);
  } catch (error) {
    refuseStart(logger, error);
  }
  logger.level = config.HOTSTATE_LOG_LEVEL;
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  return { config, logger, metrics, lifecycle: createLifecycle(logger, config.HOTSTATE_SHUTDOWN_TIMEOUT_MS) };
}
