/** Callers waiting for room under `maxAttached`, woken whenever room may have appeared. */
export class Room {
  private readonly waiters = new Set<() => void>();
  /** Callers waiting right now (so eviction closes no more than they need). */
  admitting = 0;

  /** Resolves on the next `wake()`, or after `ms` at the latest. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(1, ms));
      this.waiters.add(wake);
    });
  }

  /** An entry gone, a lease released, an attach settled: every waiter looks again. */
  wake(): void {
    for (const wake of [...this.waiters]) wake();
  }
}
