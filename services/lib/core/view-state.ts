// The view's lifecycle as one explicit state with checked transitions (after Kafka Streams' GlobalStreamThread
// State): every change goes through `to()`, which refuses a transition the table does not list and tells the
// listeners. Nothing else decides whether a view is ready.

export type ViewStateName = 'replaying' | 'ready' | 'stale' | 'waiting-registry' | 'failed' | 'rebuilding' | 'closed';

export type RebuildReason = 'topic-recreated' | 'topic-truncated' | 'offset-out-of-range' | 'requested';

export type FailureKind =
  | 'poison'
  | 'replay-slower-than-delete-retention'
  | 'topic-missing'
  | 'transaction-topic'
  | 'access-refused'
  | 'internal';

export interface ViewState {
  readonly name: ViewStateName;
  /** When this state was entered (epoch ms). */
  readonly since: number;
  /** Why, in words, for status and logs; decisions use `name`, `failure` and `rebuild`. */
  readonly reason: string | undefined;
  readonly failure?: FailureKind;
  readonly rebuild?: RebuildReason;
}

const transitions: Readonly<Record<ViewStateName, readonly ViewStateName[]>> = {
  replaying: ['ready', 'waiting-registry', 'failed', 'rebuilding', 'closed'],
  ready: ['stale', 'waiting-registry', 'failed', 'rebuilding', 'closed'],
  stale: ['ready', 'waiting-registry', 'failed', 'rebuilding', 'closed'],
  // Back to where it was: replaying (not yet caught up) or ready.
  'waiting-registry': ['replaying', 'ready', 'failed', 'rebuilding', 'closed'],
  // A failed view can only be rebuilt (topic recreated) or closed.
  failed: ['rebuilding', 'closed'],
  rebuilding: ['replaying', 'failed', 'rebuilding', 'closed'],
  closed: [],
};

export class InvalidTransitionError extends Error {
  constructor(from: ViewStateName, to: ViewStateName) {
    super(`internal: a view cannot go from ${from} to ${to}`);
    this.name = 'InvalidTransitionError';
  }
}

export type StateListener = (state: ViewState, previous: ViewState) => void;

export class ViewStateMachine {
  private current: ViewState = { name: 'replaying', since: Date.now(), reason: 'replaying' };
  private readonly listeners: StateListener[] = [];
  /** Where a registry wait returns to: `ready` when the view was serving when the wait began, else `replaying`. */
  private resume: 'ready' | 'replaying' = 'replaying';

  get state(): ViewState {
    return this.current;
  }

  get name(): ViewStateName {
    return this.current.name;
  }

  /** Serving reads of a replayed view (possibly stale). */
  get caughtUp(): boolean {
    return this.current.name === 'ready' || this.current.name === 'stale';
  }

  /** The state a registry wait ends in: where the view was when it began waiting (a rebuild's replay stays one). */
  get resumeAfterWait(): 'ready' | 'replaying' {
    return this.resume;
  }

  /** Failed or closed: nothing more is applied. */
  stopped(): boolean {
    return this.current.name === 'failed' || this.current.name === 'closed';
  }

  can(to: ViewStateName): boolean {
    return transitions[this.current.name].includes(to);
  }

  to(name: ViewStateName, details: Omit<ViewState, 'name' | 'since'> = { reason: undefined }): void {
    const previous = this.current;
    if (!this.can(name)) throw new InvalidTransitionError(previous.name, name);
    if (name === 'waiting-registry') this.resume = this.caughtUp ? 'ready' : 'replaying';
    this.current = { name, since: Date.now(), ...details };
    for (const listener of this.listeners) listener(this.current, previous);
  }

  onTransition(listener: StateListener): void {
    this.listeners.push(listener);
  }
}
