// Structured JSON logs (pino). Library code receives a logger.
import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs to stdout, or to stderr (`stderr: true`) for command-line tools whose stdout carries data. */
export function createLogger(options: { level?: string; name?: string; stderr?: boolean } = {}): Logger {
  return pino({ name: options.name ?? 'hotstate', level: options.level ?? 'info' }, pino.destination(options.stderr ? 2 : 1));
}
