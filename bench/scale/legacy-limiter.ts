// The per-process limiter before issue 19, kept for bench:scale's contrast run only: a rolling window per
// process (the whole window's budget may start at once), a pause that holds only this process.
import { type LimiterOptions, type RateLimitHeaders, ResourceUnitLimiter } from '../../src/graph/index.js';

export class LegacyWindowLimiter extends ResourceUnitLimiter {
  private readonly spent: Array<{ at: number; units: number }> = [];
  private spentTotal = 0;
  private legacyPausedUntil = 0;
  private legacyLastStart = { at: 0, units: 0 };
  private legacySlowDown?: { perUnitMs: number; until: number };
  private legacyQueue: Promise<unknown> = Promise.resolve();

  constructor(private readonly legacy: LimiterOptions) {
    super(legacy);
  }

  override acquire(units: number): Promise<void> {
    const turn = this.legacyQueue.then(() => this.legacyTake(units));
    this.legacyQueue = turn.catch(() => undefined);
    return turn;
  }

  override pause(untilMs: number): void {
    if (untilMs > this.legacyPausedUntil) this.legacyPausedUntil = untilMs;
  }

  override get pausedUntil(): number {
    return this.legacyPausedUntil;
  }

  override delayFor(units: number): number {
    return Math.max(0, this.legacyWait(units, Date.now()));
  }

  override used(): number {
    this.legacyExpire(Date.now());
    return this.spentTotal;
  }

  override observe(headers: RateLimitHeaders): void {
    const { limit, remaining, resetSeconds } = headers;
    if (limit === undefined || remaining === undefined || limit <= 0 || remaining / limit >= 0.2) {
      this.legacySlowDown = undefined;
      return;
    }
    const resetMs = Math.max(0, (resetSeconds ?? 60) * 1000);
    this.legacySlowDown = { perUnitMs: resetMs / Math.max(remaining, 1), until: Date.now() + resetMs };
  }

  private async legacyTake(units: number): Promise<void> {
    for (;;) {
      const now = Date.now();
      const wait = this.legacyWait(units, now);
      if (wait <= 0) {
        this.spent.push({ at: now, units });
        this.spentTotal += units;
        this.legacyLastStart = { at: now, units };
        return;
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  private legacyWait(units: number, now: number): number {
    if (this.legacyPausedUntil > now) return this.legacyPausedUntil - now;
    const slow = this.legacySlowDown;
    if (slow && now < slow.until) {
      const earliest = this.legacyLastStart.at + this.legacyLastStart.units * slow.perUnitMs;
      if (earliest > now) return Math.min(earliest, slow.until) - now;
    }
    this.legacyExpire(now);
    const budget = this.legacy.resourceUnitsPerWindow;
    if (this.spentTotal + units <= budget || this.spent.length === 0) return 0;
    let freed = 0;
    for (const entry of this.spent) {
      freed += entry.units;
      if (this.spentTotal - freed + units <= budget) return entry.at + this.legacy.windowMs - now;
    }
    return this.spent.at(-1)!.at + this.legacy.windowMs - now;
  }

  private legacyExpire(now: number): void {
    const horizon = now - this.legacy.windowMs;
    while (this.spent.length > 0 && this.spent[0]!.at <= horizon)
      this.spentTotal -= this.spent.shift()!.units;
  }
}
