// Structured JSON logs (pino). Library code receives a logger.
import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs to stdout, or to stderr (`stderr: true`) for command-line tools whose stdout carries data. */
export function createLogger(options: { level?: string; name?: string; stderr?: boolean } = {}): Logger {
  return pino(
    { name: options.name ?? 'hotstate', level: options.level ?? 'info' },
    pino.destination(options.stderr ? 2 : 1),
  );
}

/** Waits for `step` at most `ms`; a failure or an overrun is logged, never thrown (for shutdown steps). */
export async function settleWithin(
  log: Logger,
  what: string,
  step: Promise<void> | undefined,
  ms: number,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      log.warn(`${what} did not finish within ${String(ms)} ms; going on`);
      resolve();
    }, ms);
  });
  try {
    await Promise.race([
      step?.catch((error: unknown) => {
        log.warn({ err: error }, `${what} failed`);
      }),
      bound,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
