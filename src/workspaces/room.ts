/** Sleeps that any `wakeAll()` cuts short: the pool's idle waits, callers waiting for room. */
export class Sleepers {
  private readonly waiters = new Set<() => void>();

  /** Resolves on the next `wakeAll()`, or after `ms` at the latest. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waiters.add(wake);
    });
  }

  wakeAll(): void {
    for (const wake of [...this.waiters]) wake();
  }
}

/** Callers waiting for room under `maxAttached`, woken whenever room may have appeared. */
export class Room {
  private readonly sleepers = new Sleepers();
  /** Callers waiting right now (so eviction closes no more than they need). */
  admitting = 0;

  /** Resolves on the next `wake()`, or after `ms` at the latest. */
  wait(ms: number): Promise<void> {
    return this.sleepers.sleep(Math.max(1, ms));
  }

  /** An entry gone, a lease released, an attach settled: every waiter looks again. */
  wake(): void {
    this.sleepers.wakeAll();
  }
}
