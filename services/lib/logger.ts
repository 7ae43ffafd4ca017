// Structured JSON logs (pino). Library code receives a logger; kafkajs's own log lines are routed into it.
import { pino, type Logger } from 'pino';
import kafkajs from 'kafkajs';
import type { logCreator } from 'kafkajs';

export type { Logger };

/** JSON logs to stdout, or to stderr (`stderr: true`) for command-line tools whose stdout carries data. */
export function createLogger(options: { level?: string; name?: string; stderr?: boolean } = {}): Logger {
  return pino({ name: options.name ?? 'hotstate', level: options.level ?? 'info' }, pino.destination(options.stderr ? 2 : 1));
}

// Known, deliberate: our producer bounds retries (a stopped broker must fail, not hang), which kafkajs warns about
// on every producer. Delivery stays idempotent within the bounded retries.
const expectedWarnings = ['Limiting retries for the idempotent producer may invalidate EoS guarantees'];

// kafkajs logs every retriable broker answer at ERROR, although it retries them: a coordinator still loading on a
// fresh broker, or metadata not yet propagated for a new topic. Those are debug noise; real failures still surface
// as rejected promises.
const transient = /coordinator is loading|coordinator is not available|does not host this topic-partition|leader is not available/i;

/** A kafkajs logCreator writing into a child of `logger`. */
export function kafkajsLogCreator(logger: Logger): logCreator {
  const child = logger.child({ component: 'kafkajs' });
  const { ERROR, WARN, INFO } = kafkajs.logLevel;
  return () => ({ namespace, level, log }) => {
    const { message, ...fields } = log;
    if (expectedWarnings.some((text) => message.includes(text))) return;
    const entry = { ...fields, namespace };
    const error = (fields as { error?: unknown }).error;
    if (typeof error === 'string' && transient.test(error)) child.debug(entry, message);
    else if (level === ERROR) child.error(entry, message);
    else if (level === WARN) child.warn(entry, message);
    else if (level === INFO) child.info(entry, message);
    else child.debug(entry, message);
  };
}
