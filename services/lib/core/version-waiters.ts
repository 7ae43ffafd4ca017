// Callers waiting for the view to reach a version (waitFor): checked again after every change of position, failed
// on a refusal, a timeout or close. What "reached" and "refused" mean is the caller's; this keeps the set and timers.

interface Waiter {
  readonly check: () => void;
  readonly fail: (error: Error) => void;
}

export class VersionWaiters {
  private readonly waiters = new Set<Waiter>();

  /** Checks every waiter again (positions moved, or what readers see changed). */
  wake(): void {
    for (const waiter of this.waiters) waiter.check();
  }

  failAll(error: Error): void {
    for (const waiter of [...this.waiters]) waiter.fail(error);
  }

  /** Resolves once `reached()`; rejects when `refusal()` gives an error (asked while not reached), or on timeout. */
  wait(
    reached: () => boolean,
    refusal: () => Error | undefined,
    timeoutMs: number,
    timedOut: () => Error,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        check: (): void => {
          if (reached()) {
            cleanup();
            resolve();
            return;
          }
          const refused = refusal();
          if (refused) waiter.fail(refused);
        },
        fail: (error: Error): void => {
          cleanup();
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        waiter.fail(timedOut());
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
    });
  }
}
