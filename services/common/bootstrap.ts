// What every service entry point does first: validated configuration (exit 2 with every problem), a logger, a
// metrics registry with default process metrics, and the shutdown lifecycle.
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { z } from 'zod';
import type { Logger } from 'pino';
import { createLogger } from '../lib/logger.ts';
import { loadConfig } from './config.ts';
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

export function bootstrap<S extends z.ZodType<CommonSettings>>(name: string, schema: S): Bootstrap<Readonly<z.infer<S>>> {
  const logger = createLogger({ name });
  let config: Readonly<z.infer<S>>;
  try {
    config = loadConfig(schema, process.env);
  } catch (error) {
    logger.fatal((error as Error).message);
    process.exit(2);
  }
  logger.level = config.HOTSTATE_LOG_LEVEL;
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  return { config, logger, metrics, lifecycle: createLifecycle(logger, config.HOTSTATE_SHUTDOWN_TIMEOUT_MS) };
}
