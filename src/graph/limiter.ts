import { randomUUID } from 'node:crypto';
import { ConfigError } from '../errors/index.js';
import type { BudgetLedger, LedgerGrant } from './ledger.js';

/**
 * Paces one client's (or one tenant's) requests against SharePoint's resource-unit budget, before a 429 arrives:
 * - a token bucket: at most `burst` units start at once, then units flow at an even rate, chosen so that the
 *   units started in any window of `windowMs` never exceed the budget (burst + rate × window ≤ budget);
 * - a daily allowance (`resourceUnitsPerDay`, SharePoint's limit per app per tenant per 24 hours);
 * - `RateLimit-*` headers: once the remaining share falls below `slowDownBelowRatio`, the remaining
 *   units are spread evenly until `RateLimit-Reset`;
 * - a shared pause: after a 429/503 with `Retry-After`, no request starts before then.
 * With a ledger (`share`), the bucket, the daily allowance and the pause are shared by every process using the
 * same ledger key: the limiter leases a slice of units (`leaseMs` worth) so a request costs no round trip.
 * Callers are served in arrival order, so a large `$batch` is not starved by small requests.
 * The file is over 400 lines on purpose: one token bucket with its ledger sharing, one concern, one home.
 */
export interface LimiterOptions {
  resourceUnitsPerWindow: number;
  windowMs: number;
  slowDownBelowRatio: number;
  /** Units that may start at once (default 5 % of the budget, at least 40, at most half of it). */
  burst?: number;
  /** SharePoint's daily limit per app per tenant (rolling 24 hours). Default 1,200,000 (the smallest tenants). */
  resourceUnitsPerDay?: number;
  /** How long a leased share of the shared allowance may be spent (default 1000 ms). */
  leaseMs?: number;
  /** The ledger key (tenant and application) when shared; `share()` may name it too. */
  key?: string;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface RateLimitHeaders {
  limit?: number;
  remaining?: number;
  resetSeconds?: number;
}

/** What `status()` and the metrics show of a budget. */
export interface BudgetFigures {
  /** Whether the allowance is shared with other processes through the database. */
  shared: boolean;
  key?: string;
  resourceUnitsPerMinute: number;
  resourceUnitsPerDay: number;
  /** Units started in the last minute (all processes when shared). */
  usedThisMinute: number;
  /** Units started in the last 24 hours (all processes when shared). */
  usedToday: number;
  remainingToday: number;
  /** 429/503 answers seen (all processes when shared). */
  throttled: number;
  /** ISO time until which every request waits (a `Retry-After`), when one is running. */
  pausedUntil?: string;
}

export const DEFAULT_RESOURCE_UNITS_PER_MINUTE = 1200;
/** learn.microsoft.com, "Avoid getting throttled or blocked in SharePoint Online": 0–1,000 licences. */
export const DEFAULT_RESOURCE_UNITS_PER_DAY = 1_200_000;
const DAY_MS = 24 * 60 * 60 * 1000;
const MINUTE_MS = 60_000;

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The default burst: 5 % of the budget (at least 40 RU: one `$batch` of 20 writes), at most half of it. */
export function defaultBurst(budget: number): number {
  return Math.max(1, Math.min(Math.max(Math.ceil(budget * 0.05), 40), Math.floor(budget / 2)));
}

/** The resource-unit budget of one app in one tenant (`graph.budget`, `tenantBudget`). See docs/graph.md. */
export interface BudgetOptions {
  /** Units per window (a minute unless `windowMs` says otherwise). Default 1200. */
  resourceUnitsPerMinute?: number;
  /** SharePoint's limit per app per tenant per 24 hours. Default 1,200,000 (tenants of up to 1,000 licences). */
  resourceUnitsPerDay?: number;
  /** Units that may start at once before the even pace applies. Default 5 % of the budget (≥ 40, ≤ half). */
  burst?: number;
  /** Below this share of `RateLimit-Remaining`, the remaining units are spread until `RateLimit-Reset`. Default 0.2. */
  slowDownBelowRatio?: number;
  /** The window the budget applies to; change it only for a test server whose clock runs faster. Default 60 000. */
  windowMs?: number;
  /** How long a process may spend a share it leased from the shared allowance. Default 1000 ms. */
  leaseMs?: number;
  /**
   * Share the budget with every process attached to the same database (default true under
   * `SharePointSync.attach` and `SharePointWorkspaces`; a bare `GraphClient` paces alone). `key` names the
   * tenant and application (default: the site's host name, or the workspace's tenant); `schema` holds the
   * ledger (default `sharepoint_budget`).
   */
  shared?: boolean | { key?: string; schema?: string };
}

/** The limiter a `GraphClient` builds from its `budget` option (also used for tenants' budgets). */
export function limiterFromBudget(budget: BudgetOptions = {}, key?: string): ResourceUnitLimiter {
  return new ResourceUnitLimiter({
    resourceUnitsPerWindow: budget.resourceUnitsPerMinute ?? DEFAULT_RESOURCE_UNITS_PER_MINUTE,
    windowMs: budget.windowMs ?? MINUTE_MS,
    slowDownBelowRatio: budget.slowDownBelowRatio ?? 0.2,
    ...(budget.resourceUnitsPerDay !== undefined ? { resourceUnitsPerDay: budget.resourceUnitsPerDay } : {}),
    ...(budget.burst !== undefined ? { burst: budget.burst } : {}),
    ...(budget.leaseMs !== undefined ? { leaseMs: budget.leaseMs } : {}),
    ...(key !== undefined ? { key } : {}),
  });
}

export class ResourceUnitLimiter {
  /** Units started, for the figures (the last day, per minute when older than a window). */
  private readonly started: Array<{ at: number; units: number }> = [];
  /** `started[startHead…]` are within the last minute (or window), `started[windowHead…]` within the window. */
  private startHead = 0;
  private windowHead = 0;
  /** Units of `started[windowHead…]`, kept as entries come and go (a busy process starts thousands a minute). */
  private startedInWindow = 0;
  private readonly perMinute = new Map<number, number>();
  private usedDay = 0;
  private throttles = 0;
  private pausedUntilMs = 0;
  private lastStart = { at: 0, units: 0 };
  private slowDown?: { perUnitMs: number; until: number };
  private queue: Promise<unknown> = Promise.resolve();
  /** The `onWait` of every request asked for and not yet started. */
  private readonly waiting = new Set<() => void>();
  /** True while the request at the head of the queue sleeps (for units or a pause). */
  private sleeping = false;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** The local bucket (used alone, or when the ledger cannot be reached). */
  private tokens: number;
  private refilledAt: number;
  /** The shared allowance, and this process's leased share of it. */
  private ledger?: BudgetLedger;
  private ledgerKey?: string;
  private share = 0;
  private shareUntil = 0;
  private ledgerWaitUntil = 0;
  private ledgerFailed = false;
  /** This limiter's name in the ledger's queue of waiting holders. */
  private readonly holder = randomUUID();
  readonly burst: number;
  readonly resourceUnitsPerDay: number;
  readonly leaseMs: number;
  /** Units per ms. */
  private readonly rate: number;

  constructor(private readonly options: LimiterOptions) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
    const budget = options.resourceUnitsPerWindow;
    if (!(budget > 0))
      throw new ConfigError('graph.budget.resourceUnitsPerMinute', 'a number greater than 0', String(budget));
    this.burst = Math.max(1, Math.min(options.burst ?? defaultBurst(budget), budget));
    this.resourceUnitsPerDay = options.resourceUnitsPerDay ?? DEFAULT_RESOURCE_UNITS_PER_DAY;
    this.leaseMs = options.leaseMs ?? 1000;
    // burst + rate × window ≤ budget. A share leased at t may still be spent at t + leaseMs, so when shared the
    // rate also covers that: burst + rate × (window + lease) ≤ budget (set in `share`).
    this.rate = Math.max(budget - this.burst, budget / 100) / options.windowMs;
    this.tokens = this.burst;
    this.refilledAt = this.now();
    if (options.key !== undefined) this.ledgerKey = options.key;
  }

  /**
   * Takes units from a shared allowance (a ledger in the database) instead of this process's own bucket:
   * every limiter sharing `key` on that ledger then spends one budget, and a `Retry-After` pauses them all.
   * A key given at construction wins over `key`. Replaces a ledger that is no longer usable.
   */
  shareWith(ledger: BudgetLedger, key: string): void {
    if (this.ledger?.usable()) return;
    const first = !this.ledger;
    this.ledger = ledger;
    this.ledgerKey ??= key;
    // Units this process started on its own bucket in the current window (attach resolves the site before the
    // ledger is there) are owed to the shared allowance: the first lease takes them off.
    this.share = first ? -this.used() : 0;
    this.shareUntil = 0;
  }

  /** The ledger key when shared. */
  get sharedKey(): string | undefined {
    return this.ledger ? this.ledgerKey : undefined;
  }

  /**
   * Resolves when a request costing `units` may start; the units are then counted as spent. `onWait` is called
   * once if the request has to wait for units or a pause before it starts — itself, or an earlier request it is
   * queued behind (a request queued behind one that starts at once does not count as waiting).
   */
  acquire(units: number, onWait?: () => void): Promise<void> {
    let waited = false;
    const wait = () => {
      if (waited) return;
      waited = true;
      onWait?.();
    };
    this.waiting.add(wait);
    if (this.sleeping) wait();
    const turn = this.queue.then(() => this.take(units));
    this.queue = turn.catch(() => undefined);
    return turn.finally(() => {
      this.waiting.delete(wait);
    });
  }

  /** Stops every request (of every process sharing the ledger) from starting before `untilMs` (epoch ms). */
  pause(untilMs: number): void {
    this.throttles += 1;
    if (untilMs > this.pausedUntilMs) this.pausedUntilMs = untilMs;
    const ledger = this.ledger;
    if (ledger && this.ledgerKey !== undefined) {
      // What this process holds is not spent during the pause: back to the shared allowance.
      const back = this.share;
      this.share = 0;
      ledger.pause(this.ledgerKey, Math.max(0, untilMs - this.now()), back).catch(() => undefined);
    }
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
    const now = this.now();
    const local = this.localWait(units, now);
    if (local > 0 || !this.ledger || this.ledgerFailed) return Math.max(0, local);
    if (this.share >= units && now < this.shareUntil) return 0;
    return Math.max(0, this.ledgerWaitUntil - now);
  }

  /** Units started by this process within the current window. */
  used(): number {
    this.expire(this.now());
    return this.startedInWindow;
  }

  /** Budget used, remaining and throttles: the shared figures when shared (read from the ledger). */
  async figures(): Promise<BudgetFigures> {
    const now = this.now();
    this.expire(now);
    const base = {
      resourceUnitsPerMinute: this.options.resourceUnitsPerWindow * (MINUTE_MS / this.options.windowMs),
      resourceUnitsPerDay: this.resourceUnitsPerDay,
    };
    if (this.ledger && this.ledgerKey !== undefined) {
      try {
        const f = await this.ledger.figures(this.ledgerKey);
        return {
          shared: true,
          key: this.ledgerKey,
          ...base,
          usedThisMinute: f.usedThisMinute,
          usedToday: f.usedToday,
          remainingToday: Math.max(0, this.resourceUnitsPerDay - f.usedToday),
          throttled: f.throttled,
          ...(f.pausedForMs > 0 ? { pausedUntil: new Date(now + f.pausedForMs).toISOString() } : {}),
        };
      } catch {
        // The database is unreachable: this process's own figures follow.
      }
    }
    let lastMinute = 0;
    for (let i = this.startHead; i < this.started.length; i++) {
      const s = this.started[i]!;
      if (s.at > now - MINUTE_MS) lastMinute += s.units;
    }
    const usedToday = this.dayUsed(now);
    return {
      shared: false,
      ...(this.ledgerKey !== undefined ? { key: this.ledgerKey } : {}),
      ...base,
      usedThisMinute: lastMinute,
      usedToday,
      remainingToday: Math.max(0, this.resourceUnitsPerDay - usedToday),
      throttled: this.throttles,
      ...(this.pausedUntilMs > now ? { pausedUntil: new Date(this.pausedUntilMs).toISOString() } : {}),
    };
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

  /** The queue's head sleeps: it holds back every request queued behind it, so all of them are waiting. */
  private async sleepAtHead(ms: number): Promise<void> {
    this.sleeping = true;
    for (const wait of this.waiting) wait();
    try {
      await this.sleep(ms);
    } finally {
      this.sleeping = false;
    }
  }

  private async take(units: number): Promise<void> {
    for (;;) {
      const now = this.now();
      const wait = this.localWait(units, now);
      if (wait > 0) {
        await this.sleepAtHead(wait);
        continue;
      }
      if (this.ledger && this.ledgerKey !== undefined && !this.ledgerFailed) {
        const shared = await this.takeShared(units, now);
        if (shared === 'ok') return this.record(units, this.now());
        if (shared > 0) {
          await this.sleepAtHead(shared);
          continue;
        }
        // 'local' (shared === 0 never happens): fall through to the local bucket.
      }
      const bucketWait = this.bucketWait(units, now);
      if (bucketWait <= 0) {
        this.refill(now);
        this.tokens -= units;
        return this.record(units, now);
      }
      await this.sleepAtHead(bucketWait);
    }
  }

  /**
   * Spends from the leased share, or leases a new one. Returns 'ok', a wait in ms, or 0 when the ledger failed
   * (the local bucket takes over until the ledger answers again).
   */
  private async takeShared(units: number, now: number): Promise<'ok' | number> {
    if (this.share >= units && now < this.shareUntil && this.share > 0) {
      this.share -= units;
      return 'ok';
    }
    const ledger = this.ledger!;
    const returned = this.share;
    this.share = 0;
    let grant: LedgerGrant;
    try {
      grant = await ledger.lease({
        key: this.ledgerKey!,
        holder: this.holder,
        need: units,
        want: Math.max(units, Math.ceil(this.sharedRate * this.leaseMs)),
        returned,
        burst: this.burst,
        ratePerMs: this.sharedRate,
        perDay: this.resourceUnitsPerDay,
      });
    } catch {
      // Unreachable database: pace locally (this process's own bucket) and try the ledger again later.
      this.ledgerFailed = true;
      setTimeout(() => {
        this.ledgerFailed = false;
      }, 5000).unref?.();
      return 0;
    }
    const after = this.now();
    if (grant.pausedForMs > 0) {
      if (after + grant.pausedForMs > this.pausedUntilMs) this.pausedUntilMs = after + grant.pausedForMs;
      return grant.pausedForMs;
    }
    if (grant.granted >= units) {
      this.share = grant.granted - units;
      this.shareUntil = after + this.leaseMs;
      this.ledgerWaitUntil = 0;
      return 'ok';
    }
    const wait = Math.max(1, grant.waitMs);
    this.ledgerWaitUntil = after + wait;
    return wait;
  }

  /** Rate of the shared bucket: a share may be spent up to `leaseMs` after it was leased. */
  private get sharedRate(): number {
    const budget = this.options.resourceUnitsPerWindow;
    return Math.max(budget - this.burst, budget / 100) / (this.options.windowMs + this.leaseMs);
  }

  private record(units: number, now: number): void {
    this.expire(now);
    this.started.push({ at: now, units });
    this.startedInWindow += units;
    const minute = Math.floor(now / MINUTE_MS);
    this.perMinute.set(minute, (this.perMinute.get(minute) ?? 0) + units);
    this.usedDay += units;
    this.lastStart = { at: now, units };
  }

  /** Waits that apply whatever the allowance: a pause, the `RateLimit-*` slow-down, the local daily limit. */
  private localWait(units: number, now: number): number {
    if (this.pausedUntilMs > now) return this.pausedUntilMs - now;
    if (this.slowDown && now < this.slowDown.until) {
      // Each request "uses up" its share of the time left until the server's reset.
      const earliest = this.lastStart.at + this.lastStart.units * this.slowDown.perUnitMs;
      if (earliest > now) return Math.min(earliest, this.slowDown.until) - now;
    }
    if (!this.ledger || this.ledgerFailed) {
      const day = this.dayUsed(now);
      if (day > 0 && day + units > this.resourceUnitsPerDay) {
        // Wait for the oldest minute still counted to leave the 24 hours.
        const oldest = Math.min(...this.perMinute.keys());
        return Math.max(1, (oldest + 1) * MINUTE_MS + DAY_MS - now);
      }
    }
    return 0;
  }

  /** How long the local bucket needs before `units` may start (≤ 0: now). */
  private bucketWait(units: number, now: number): number {
    const tokens = Math.min(this.burst, this.tokens + (now - this.refilledAt) * this.rate);
    // A request larger than the burst starts alone, on a full bucket (then the bucket owes the difference).
    const needed = Math.min(units, this.burst);
    if (tokens >= needed) return 0;
    return Math.ceil((needed - tokens) / this.rate);
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.burst, this.tokens + (now - this.refilledAt) * this.rate);
    this.refilledAt = now;
  }

  private dayUsed(now: number): number {
    const horizon = Math.floor((now - DAY_MS) / MINUTE_MS);
    for (const minute of this.perMinute.keys()) {
      if (minute <= horizon) {
        this.usedDay -= this.perMinute.get(minute)!;
        this.perMinute.delete(minute);
      }
    }
    return this.usedDay;
  }

  private expire(now: number): void {
    const horizon = now - Math.max(this.options.windowMs, MINUTE_MS);
    const windowStart = now - this.options.windowMs; // ≥ horizon: an entry past the horizon left the window too
    const started = this.started;
    while (this.windowHead < started.length && started[this.windowHead]!.at <= windowStart) {
      this.startedInWindow -= started[this.windowHead]!.units;
      this.windowHead++;
    }
    while (this.startHead < started.length && started[this.startHead]!.at <= horizon) this.startHead++;
    if (this.startHead > 1024 && this.startHead * 2 > started.length) {
      started.splice(0, this.startHead);
      this.windowHead -= this.startHead;
      this.startHead = 0;
    }
  }
}
