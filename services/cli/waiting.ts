// What a one-shot command is waiting on right now: named by the --timeout message, so a command that gives up says
// what did not answer (a view's state and reason, a producer's connect) instead of only that time ran out.
let current: () => string = () => 'Kafka and the schema registry to answer';

export function waitingOn(what: string | (() => string)): void {
  current = typeof what === 'string' ? () => what : what;
}

export const waitingFor = (): string => current();
