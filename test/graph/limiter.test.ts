import { describe, expect, it } from 'vitest';
import { MemoryLedgerStore, StoreLedger, settleLease } from '../../src/graph/ledger.js';
import { type LimiterOptions, ResourceUnitLimiter } from '../../src/graph/limiter.js';

/**
 * A virtual clock: `sleep` parks a timer, `run` advances the clock to the next timer once every promise that
 * can move has moved. Deterministic and instant — no real waiting.
 */
function virtualTime(start = 1_000_000) {
  let clock = start;
  const timers: Array<{ at: number; resolve: () => void }> = [];
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    now: () => clock,
    sleep: (ms: number) =>
      new Promise<void>((resolve) => {
        timers.push({ at: clock + Math.max(0, ms), resolve });
      }),
    /** Runs until `done` settles, advancing the clock from timer to timer. */
    async run<T>(done: Promise<T>): Promise<T> {
      let finished = false;
      const result = done.finally(() => {
        finished = true;
      });
      for (let i = 0; i < 1_000_000; i++) {
        await settle();
        if (finished) return result;
        timers.sort((a, b) => a.at - b.at);
        const next = timers.shift();
        if (!next) {
          await settle();
          if (finished) return result;
          throw new Error('virtual time: nothing left to wake and the work is not done');
        }
        clock = Math.max(clock, next.at);
        next.resolve();
      }
      throw new Error('virtual time: too many steps');
    },
  };
}

function limiterOn(time: ReturnType<typeof virtualTime>, options: Partial<LimiterOptions> = {}) {
  return new ResourceUnitLimiter({
    resourceUnitsPerWindow: 3000,
    windowMs: 60_000,
    slowDownBelowRatio: 0.2,
    now: time.now,
    sleep: time.sleep,
    ...options,
  });
}

/** The most units started in any window of `windowMs` (starts are [time, units]). */
function peakWindow(starts: Array<[number, number]>, windowMs: number): number {
  let peak = 0;
  let sum = 0;
  let left = 0;
  for (let right = 0; right < starts.length; right++) {
    sum += starts[right]![1];
    while (starts[left]![0] <= starts[right]![0] - windowMs) sum -= starts[left++]![1];
    peak = Math.max(peak, sum);
  }
  return peak;
}

describe('ResourceUnitLimiter: token bucket (virtual clock)', () => {
  it('counts the units of the window and the last minute right through thousands of starts (kept incrementally)', async () => {
    const time = virtualTime();
    // A window shorter than the minute: the figures keep a minute, the bucket a window.
    const limiter = limiterOn(time, { resourceUnitsPerWindow: 200_000, windowMs: 20_000 });
    const starts: Array<[number, number]> = [];
    for (let i = 0; i < 12_000; i++) {
      const units = 1 + (i % 3);
      await time.run(limiter.acquire(units));
      starts.push([time.now(), units]);
      await time.run(time.sleep(10)); // 12,000 starts over two minutes: entries leave, the list compacts
      if (i % 997 === 0 || i === 11_999) {
        const now = time.now();
        const inWindow = starts.filter(([at]) => at > now - 20_000).reduce((n, [, u]) => n + u, 0);
        expect(limiter.used()).toBe(inWindow);
        const inMinute = starts.filter(([at]) => at > now - 60_000).reduce((n, [, u]) => n + u, 0);
        expect((await limiter.figures()).usedThisMinute).toBe(inMinute);
      }
    }
  });

  it('spreads units over the window instead of spending the whole budget at once', async () => {
    const time = virtualTime();
    const limiter = limiterOn(time); // 3000 RU/min: burst 150, then 2850 RU per minute
    const starts: Array<[number, number]> = [];
    const all = Array.from({ length: 3000 }, () =>
      limiter.acquire(2).then(() => starts.push([time.now() - 1_000_000, 2])),
    );
    await time.run(Promise.all(all));
    // The burst starts at once; the old rolling window started all 1,500 requests of the first minute at 0.
    expect(starts.filter(([at]) => at === 0).length).toBe(75);
    // After the burst, one 2-RU request every 2 / (2850 / 60 000) ms ≈ 42 ms: no second-long gaps.
    const gaps = starts.slice(76).map(([at], i) => at - starts[75 + i]![0]);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(43);
    // Never more than the budget in any rolling minute, and close to it while there is a backlog.
    expect(peakWindow(starts, 60_000)).toBeLessThanOrEqual(3000);
    const secondMinute = starts.filter(([at]) => at >= 60_000 && at < 120_000).reduce((n, [, u]) => n + u, 0);
    expect(secondMinute).toBeGreaterThanOrEqual(0.94 * 3000);
  });

  it('lets a request larger than the burst start alone on a full bucket, then repays it', async () => {
    const time = virtualTime();
    const limiter = limiterOn(time, { resourceUnitsPerWindow: 100, windowMs: 1000, burst: 10 });
    const starts: number[] = [];
    await time.run(limiter.acquire(40).then(() => starts.push(time.now() - 1_000_000)));
    await time.run(limiter.acquire(1).then(() => starts.push(time.now() - 1_000_000)));
    // 90 units per second: the 30 owed plus 1 take 31 / 0.09 ≈ 345 ms.
    expect(starts[0]).toBe(0);
    expect(starts[1]).toBeGreaterThanOrEqual(340);
    expect(starts[1]).toBeLessThanOrEqual(350);
  });

  it('holds every request back during a Retry-After pause', async () => {
    const time = virtualTime();
    const limiter = limiterOn(time);
    limiter.pause(time.now() + 750);
    const starts: number[] = [];
    await time.run(
      Promise.all([limiter.acquire(1), limiter.acquire(1)].map((p) => p.then(() => starts.push(time.now())))),
    );
    expect(starts.map((s) => s - 1_000_000)).toEqual([750, 750]);
  });

  it('spreads the remaining units over RateLimit-Reset once below the ratio', async () => {
    const time = virtualTime();
    const limiter = limiterOn(time, { resourceUnitsPerWindow: 1000 });
    const starts: number[] = [];
    const take = (units: number) =>
      time.run(limiter.acquire(units).then(() => starts.push(time.now() - 1_000_000)));
    limiter.observe({ limit: 100, remaining: 50, resetSeconds: 10 });
    await take(2);
    await take(2);
    expect(starts).toEqual([0, 0]);
    limiter.observe({ limit: 100, remaining: 10, resetSeconds: 10 }); // 10 units over 10 s → 1 s per unit
    await take(2);
    await take(2);
    await take(1);
    expect(starts.slice(2)).toEqual([2000, 4000, 6000]);
    limiter.observe({}); // headers gone: the server is not near its limit, the bucket's pace again
    await take(1);
    await take(1);
    expect(starts.slice(5)).toEqual([6000, 6000]);
  });

  it("respects the daily limit: once it is spent, the next request waits for the 24 hours' oldest minute", async () => {
    const time = virtualTime(0);
    const limiter = limiterOn(time, { resourceUnitsPerWindow: 1_000_000, resourceUnitsPerDay: 100 });
    await time.run(limiter.acquire(60));
    await time.run(limiter.acquire(40));
    expect((await limiter.figures()).remainingToday).toBe(0);
    await time.run(limiter.acquire(1));
    // Spent in minute 0: counted until that minute leaves the 24 hours.
    expect(time.now()).toBe(24 * 60 * 60 * 1000 + 60_000);
    const figures = await limiter.figures();
    expect(figures).toMatchObject({
      shared: false,
      usedToday: 1,
      remainingToday: 99,
      resourceUnitsPerDay: 100,
    });
  });
});

describe('ResourceUnitLimiter: one budget shared through a ledger (virtual clock)', () => {
  it('two limiters on one ledger never exceed the budget together, and use most of it', async () => {
    const time = virtualTime();
    const ledger = new StoreLedger(new MemoryLedgerStore(time.now));
    const a = limiterOn(time);
    const b = limiterOn(time);
    a.shareWith(ledger, 'contoso');
    b.shareWith(ledger, 'contoso');
    const starts: Array<[number, number]> = [];
    const work = [a, b].flatMap((limiter) =>
      Array.from({ length: 1500 }, () =>
        limiter.acquire(2).then(() => starts.push([time.now() - 1_000_000, 2])),
      ),
    );
    await time.run(Promise.all(work));
    starts.sort((x, y) => x[0] - y[0]);
    expect(peakWindow(starts, 60_000)).toBeLessThanOrEqual(3000);
    const secondMinute = starts.filter(([at]) => at >= 60_000 && at < 120_000).reduce((n, [, u]) => n + u, 0);
    expect(secondMinute).toBeGreaterThanOrEqual(0.9 * 3000);
    // Both got their turn (neither starved).
    const figures = await a.figures();
    expect(figures.shared).toBe(true);
    expect(figures.usedToday).toBe(6000);
  });

  it('a per-minute budget far above the daily one: a lease never books the day, requests keep flowing', async () => {
    // 100 million RU a minute (tests, generous settings) and the default daily limit (1.2 million): one lease
    // of a second's worth (1.7 million) would book the whole day at once and stall every later request.
    const time = virtualTime();
    const ledger = new StoreLedger(new MemoryLedgerStore(time.now));
    const a = limiterOn(time, { resourceUnitsPerWindow: 100_000_000 });
    a.shareWith(ledger, 'contoso');
    for (let i = 0; i < 200; i++) await time.run(a.acquire(2));
    expect(time.now() - 1_000_000).toBeLessThan(60_000);
    const figures = await a.figures();
    expect(figures.remainingToday).toBeGreaterThan(1_000_000);
  });

  it('a large request is not starved by another process spending the budget in small ones', async () => {
    // A process joining a busy deployment (its attach reads lists and columns) while another spends every unit
    // as it comes, 1 at a time: the larger request reserves its units in the ledger instead of losing every
    // race for them.
    const time = virtualTime();
    const ledger = new StoreLedger(new MemoryLedgerStore(time.now));
    const busy = limiterOn(time, { resourceUnitsPerWindow: 240 });
    const joining = limiterOn(time, { resourceUnitsPerWindow: 240 });
    busy.shareWith(ledger, 'contoso');
    joining.shareWith(ledger, 'contoso');
    let stop = false;
    const loops = Array.from({ length: 4 }, async () => {
      while (!stop) await busy.acquire(1);
    });
    // The busy process has spent its burst and now takes each unit as it comes.
    await time.run(time.sleep(20_000));
    const askedAt = time.now();
    const outcome = await time.run(
      Promise.race([
        joining.acquire(5).then(() => 'started' as const),
        time.sleep(60_000).then(() => 'starved for a minute' as const),
      ]),
    );
    expect(outcome).toBe('started');
    const waited = time.now() - askedAt;
    stop = true;
    await time.run(Promise.all(loops));
    // 5 units at 200 per 61 s take about 1.5 s to gather; one lease of the busy process (1 s) may come first.
    expect(waited).toBeLessThan(5_000);
  });

  it('waiting holders are served first come first served, and the reservation of one that never returns lapses', () => {
    const ask = (holder: string, need: number) => ({
      key: 'contoso',
      holder,
      need,
      want: need,
      returned: 0,
      burst: 40,
      ratePerMs: 0.01, // 10 units a second
      perDay: 1_200_000,
    });
    const empty = { tokens: 0, refilledAtMs: 0, pausedUntilMs: 0, throttled: 0 };
    // "dead" finds too few units and reserves 30; "small" then waits behind it although 1 unit is there.
    const first = settleLease(empty, ask('dead', 30), 0, 0);
    expect(first.result).toEqual({ granted: 0, waitMs: 3000, pausedForMs: 0 });
    const behind = settleLease(first.state, ask('small', 1), 100, 0);
    expect(behind.result.granted).toBe(0);
    expect(behind.result.waitMs).toBe(3000);
    // "dead" never comes back: after its wait and the grace, its units go to the next in line.
    const later = settleLease(behind.state, ask('small', 1), 3000 + 5_001, 0);
    expect(later.result.granted).toBe(1);
    expect(later.state.waiting).toEqual([]);
  });

  it('a pause seen by one limiter holds the other back until it ends', async () => {
    const time = virtualTime();
    const ledger = new StoreLedger(new MemoryLedgerStore(time.now));
    const a = limiterOn(time, { leaseMs: 1000 });
    const b = limiterOn(time, { leaseMs: 1000 });
    a.shareWith(ledger, 'contoso');
    b.shareWith(ledger, 'contoso');
    await time.run(Promise.all([a.acquire(1), b.acquire(1)]));
    // b's share expires after its lease; a meets a 429 with Retry-After: 5 s.
    a.pause(time.now() + 5000);
    await time.run(time.sleep(1001));
    const pausedAt = time.now() - 1001;
    await time.run(b.acquire(1));
    expect(time.now()).toBe(pausedAt + 5000);
    expect((await b.figures()).throttled).toBe(1);
  });

  it('units started before the ledger was there (attach resolving the site) are owed to it', async () => {
    const time = virtualTime();
    const store = new MemoryLedgerStore(time.now);
    const limiter = limiterOn(time);
    await time.run(limiter.acquire(30));
    limiter.shareWith(new StoreLedger(store), 'contoso');
    await time.run(limiter.acquire(2));
    // The first lease: the 30 owed, plus a share of one lease's worth (47 units at 2850 RU per 61 s).
    expect((await store.figures('contoso')).usedToday).toBe(30 + 47);
  });

  it('a ledger that fails falls back to the local bucket (the process keeps pacing)', async () => {
    const time = virtualTime();
    const limiter = limiterOn(time);
    limiter.shareWith(
      {
        lease: () => Promise.reject(new Error('database gone')),
        pause: () => Promise.reject(new Error('database gone')),
        figures: () => Promise.reject(new Error('database gone')),
        usable: () => false,
      },
      'contoso',
    );
    await time.run(limiter.acquire(2));
    expect(time.now()).toBe(1_000_000);
    expect((await limiter.figures()).shared).toBe(false);
  });
});
