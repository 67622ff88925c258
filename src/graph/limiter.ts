/**
 * Paces one client's requests against SharePoint's resource-unit budget, before a 429 arrives:
 * - a rolling window: the units started in the last `windowMs` never exceed the budget;
 * - `RateLimit-*` headers: once the remaining share falls below `slowDownBelowRatio`, the remaining
 *   units are spread evenly until `RateLimit-Reset`;
 * - a shared pause: after a 429/503 with `Retry-After`, no request of this client starts before then.
 * Callers are served in arrival order, so a large `$batch` is not starved by small requests.
 */
export interface LimiterOptions {
  resourceUnitsPerWindow: number;
  windowMs: number;
  slowDownBelowRatio: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface RateLimitHeaders {
  limit?: number;
  remaining?: number;
  resetSeconds?: number;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class ResourceUnitLimiter {
  private readonly spent: Array<{ at: number; units: number }> = [];
  private spentTotal = 0;
  private pausedUntilMs = 0;
  private lastStart = { at: 0, units: 0 };
  private slowDown?: { perUnitMs: number; until: number };
  private queue: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: LimiterOptions) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
  }

  /** Resolves when a request costing `units` may start; the units are then counted as spent. */
  acquire(units: number): Promise<void> {
    const turn = this.queue.then(() => this.take(units));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Stops every request of this client from starting before `untilMs` (epoch ms). */
  pause(untilMs: number): void {
    if (untilMs > this.pausedUntilMs) this.pausedUntilMs = untilMs;
  }

  /** The budget of one window, in resource units. */
  get resourceUnitsPerWindow(): number {
    return this.options.resourceUnitsPerWindow;
  }

  get pausedUntil(): number {
    return this.pausedUntilMs;
  }

  /** How long a request of `units` would wait if asked now (0: it may start; callers queued before it aside). */
  delayFor(units: number): number {
    return Math.max(0, this.waitFor(units, this.now()));
  }

  /** Units started within the current window. */
  used(): number {
    this.expire(this.now());
    return this.spentTotal;
  }

  /** Feeds the `RateLimit-*` headers of a response; absent headers mean the server is not near its limit. */
  observe(headers: RateLimitHeaders): void {
    const { limit, remaining, resetSeconds } = headers;
    if (limit === undefined || remaining === undefined || limit <= 0) {
      this.slowDown = undefined;
      return;
    }
    if (remaining / limit >= this.options.slowDownBelowRatio) {
      this.slowDown = undefined;
      return;
    }
    const resetMs = Math.max(0, (resetSeconds ?? 60) * 1000);
    this.slowDown = { perUnitMs: resetMs / Math.max(remaining, 1), until: this.now() + resetMs };
  }

  private async take(units: number): Promise<void> {
    for (;;) {
      const now = this.now();
      const wait = this.waitFor(units, now);
      if (wait <= 0) {
        this.spent.push({ at: now, units });
        this.spentTotal += units;
        this.lastStart = { at: now, units };
        return;
      }
      await this.sleep(wait);
    }
  }

  /** How long a request of `units` must still wait (≤ 0: it may start now). */
  private waitFor(units: number, now: number): number {
    if (this.pausedUntilMs > now) return this.pausedUntilMs - now;
    if (this.slowDown && now < this.slowDown.until) {
      // Each request "uses up" its share of the time left until the server's reset.
      const earliest = this.lastStart.at + this.lastStart.units * this.slowDown.perUnitMs;
      if (earliest > now) return Math.min(earliest, this.slowDown.until) - now;
    }
    this.expire(now);
    const budget = this.options.resourceUnitsPerWindow;
    // A request larger than the whole budget still runs, alone in an empty window.
    if (this.spentTotal + units <= budget || this.spent.length === 0) return 0;
    let freed = 0;
    for (const entry of this.spent) {
      freed += entry.units;
      if (this.spentTotal - freed + units <= budget) return entry.at + this.options.windowMs - now;
    }
    const last = this.spent.at(-1)!;
    return last.at + this.options.windowMs - now;
  }

  private expire(now: number): void {
    const horizon = now - this.options.windowMs;
    while (this.spent.length > 0 && this.spent[0]!.at <= horizon) {
      this.spentTotal -= this.spent.shift()!.units;
    }
  }
}
