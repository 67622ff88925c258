/**
 * One resource-unit budget shared by several processes (decision 9: PostgreSQL is the one queue engine).
 * The rule lives here; where the shared state is kept is a `LedgerStore` (PostgreSQL in `store/ledger.ts`,
 * memory for tests). A process leases a slice of units and spends it locally, so a request costs no round
 * trip; unused units go back with the next lease (or expire with the process).
 */

/** The shared state of one budget (one tenant and application). */
export interface LedgerState {
  /** Units in the shared bucket at `refilledAtMs`. */
  tokens: number;
  refilledAtMs: number;
  /** A `Retry-After` seen by any process: nobody starts a request before this (the store's clock). */
  pausedUntilMs: number;
  throttled: number;
  /**
   * Holders that found too few units, first come first served: units go to them in that order, so processes
   * spending the budget in smaller requests cannot take every unit as it comes and starve a larger one.
   */
  waiting?: Reservation[];
}

/** Units reserved for `holder` until `untilMs` (the store's clock); it lapses if the holder does not return. */
export interface Reservation {
  holder: string;
  units: number;
  untilMs: number;
}

/** One settlement of a key: from its state, the clock and the units used today, the new state and the grant. */
export type LedgerChange<T> = (
  state: LedgerState | undefined,
  nowMs: number,
  usedToday: number,
) => { state: LedgerState; spent: number; result: T };

/** Where the shared state lives. `update` runs `change` under a lock on the key, with the store's own clock. */
export interface LedgerStore {
  update<T>(key: string, change: LedgerChange<T>): Promise<T>;
  /** Units spent in the last minute and the last 24 hours (all processes), throttles and the pause left. */
  figures(key: string): Promise<LedgerFigures>;
  /** False once the store cannot be used any more (its DataSource destroyed). */
  usable(): boolean;
}

export interface LedgerFigures {
  usedThisMinute: number;
  usedToday: number;
  throttled: number;
  pausedForMs: number;
}

export interface LeaseRequest {
  key: string;
  /** Who asks (one per limiter): a holder that must wait keeps one place in the queue of waiting holders. */
  holder: string;
  /** Units the next request costs: granted whole or not at all. */
  need: number;
  /** Units wanted for the local share (≥ need). */
  want: number;
  /** Unspent units of the previous share, given back. */
  returned: number;
  burst: number;
  ratePerMs: number;
  perDay: number;
}

export interface LedgerGrant {
  granted: number;
  /** When nothing was granted: how long until `need` units are there. */
  waitMs: number;
  /** When paused by a `Retry-After`: how long the pause still runs. */
  pausedForMs: number;
}

/** What a limiter needs of a shared allowance. */
export interface BudgetLedger {
  lease(request: LeaseRequest): Promise<LedgerGrant>;
  /** Pauses every process for `forMs` from now (a 429/503 with `Retry-After`); `returned` units go back. */
  pause(key: string, forMs: number, returned: number): Promise<void>;
  figures(key: string): Promise<LedgerFigures>;
  usable(): boolean;
}

/** A daily allowance exhausted: ask again in a minute (the oldest minute then leaves the 24 hours). */
const DAY_RECHECK_MS = 60_000;
/** How long past its wait a reservation is kept for a holder that does not come back (a process that died). */
const RESERVATION_GRACE_MS = 5_000;

/** The lease rule: refill the bucket, take back the returned units, grant `need`..`want` if they are there. */
export function settleLease(
  state: LedgerState | undefined,
  request: LeaseRequest,
  nowMs: number,
  usedToday: number,
): { state: LedgerState; spent: number; result: LedgerGrant } {
  const previous = state ?? { tokens: request.burst, refilledAtMs: nowMs, pausedUntilMs: 0, throttled: 0 };
  const elapsed = Math.max(0, nowMs - previous.refilledAtMs);
  let tokens = Math.min(request.burst, previous.tokens + elapsed * request.ratePerMs + request.returned);
  // Reservations of holders that did not come back (a process that died) lapse.
  const waiting = (previous.waiting ?? []).filter((w) => w.untilMs > nowMs);
  const position = waiting.findIndex((w) => w.holder === request.holder);
  const next: LedgerState = { ...previous, tokens, refilledAtMs: nowMs, waiting };
  const none = (result: Omit<LedgerGrant, 'granted'>) => ({
    state: next,
    spent: -request.returned,
    result: { granted: 0, ...result },
  });
  if (previous.pausedUntilMs > nowMs) return none({ waitMs: 0, pausedForMs: previous.pausedUntilMs - nowMs });
  // A request larger than the burst starts alone on a full bucket (the bucket then owes the difference).
  const needed = Math.min(request.need, request.burst);
  // Units reserved for the holders waiting ahead of this one are not there for it (a newcomer is behind all).
  const ahead = (position === -1 ? waiting : waiting.slice(0, position)).reduce((n, w) => n + w.units, 0);
  const heldBack = Math.min(ahead, request.burst - needed);
  if (tokens - heldBack < needed) {
    const waitMs = Math.max(1, Math.ceil((needed + heldBack - tokens) / request.ratePerMs));
    const reservation = {
      holder: request.holder,
      units: needed,
      untilMs: nowMs + waitMs + RESERVATION_GRACE_MS,
    };
    if (position === -1) waiting.push(reservation);
    else waiting[position] = reservation;
    return none({ waitMs, pausedForMs: 0 });
  }
  const dayLeft = request.perDay - (usedToday - request.returned);
  if (dayLeft < request.need) return none({ waitMs: DAY_RECHECK_MS, pausedForMs: 0 });
  // A lease counts against the day until its unused units come back with the next lease: never lease more
  // than an average minute of the daily allowance, or a large per-minute budget (tests, big tenants) would
  // book the whole day's allowance in one lease and then wait for the next day.
  const dayShare = Math.ceil(request.perDay / 1440);
  const granted = Math.max(
    request.need,
    Math.min(request.want, dayShare, Math.floor(tokens - heldBack), dayLeft),
  );
  tokens -= granted;
  if (position !== -1) waiting.splice(position, 1);
  return {
    state: { ...next, tokens },
    spent: granted - request.returned,
    result: { granted, waitMs: 0, pausedForMs: 0 },
  };
}

/** The shared allowance over a store. */
export class StoreLedger implements BudgetLedger {
  constructor(private readonly store: LedgerStore) {}

  lease(request: LeaseRequest): Promise<LedgerGrant> {
    return this.store.update(request.key, (state, nowMs, usedToday) =>
      settleLease(state, request, nowMs, usedToday),
    );
  }

  pause(key: string, forMs: number, returned: number): Promise<void> {
    return this.store.update(key, (state, nowMs) => {
      const previous = state ?? { tokens: 0, refilledAtMs: nowMs, pausedUntilMs: 0, throttled: 0 };
      return {
        state: {
          ...previous,
          // Returned units are not refilled here (the burst is unknown): the next lease refills the bucket.
          tokens: previous.tokens + returned,
          pausedUntilMs: Math.max(previous.pausedUntilMs, nowMs + forMs),
          throttled: previous.throttled + 1,
        },
        spent: -returned,
        result: undefined,
      };
    });
  }

  figures(key: string): Promise<LedgerFigures> {
    return this.store.figures(key);
  }

  usable(): boolean {
    return this.store.usable();
  }
}

/** A ledger store in memory: several limiters of one process, and deterministic tests (injected clock). */
export class MemoryLedgerStore implements LedgerStore {
  private readonly states = new Map<string, LedgerState>();
  private readonly spent = new Map<string, Array<{ at: number; units: number }>>();
  private lock: Promise<unknown> = Promise.resolve();

  constructor(private readonly now: () => number = Date.now) {}

  update<T>(key: string, change: LedgerChange<T>): Promise<T> {
    const run = this.lock.then(() => {
      const now = this.now();
      const out = change(this.states.get(key), now, this.sum(key, now, 24 * 60 * 60 * 1000));
      this.states.set(key, out.state);
      if (out.spent !== 0) {
        const list = this.spent.get(key) ?? [];
        list.push({ at: now, units: out.spent });
        this.spent.set(key, list);
      }
      return out.result;
    });
    this.lock = run.catch(() => undefined);
    return run;
  }

  async figures(key: string): Promise<LedgerFigures> {
    const now = this.now();
    const state = this.states.get(key);
    return {
      usedThisMinute: this.sum(key, now, 60_000),
      usedToday: this.sum(key, now, 24 * 60 * 60 * 1000),
      throttled: state?.throttled ?? 0,
      pausedForMs: Math.max(0, (state?.pausedUntilMs ?? 0) - now),
    };
  }

  usable(): boolean {
    return true;
  }

  private sum(key: string, now: number, spanMs: number): number {
    let total = 0;
    for (const s of this.spent.get(key) ?? []) if (s.at > now - spanMs) total += s.units;
    return total;
  }
}
