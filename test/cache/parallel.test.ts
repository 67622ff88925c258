import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cache } from '../../src/cache/index.js';
import type { SyncContext } from '../../src/context.js';
import { GraphClient, type GraphRequestEvent } from '../../src/graph/index.js';
import { rowToFields } from '../../src/schema/index.js';
import { Account, Contact, cacheEntities } from './fixtures.js';
import { type CacheHarness, createCacheHarness, SITE_REF } from './harness.js';

// Issue 19, "Big lists load in parallel": a cold load takes the delta token first, reads the list in ranges of
// item ids on several connections, then continues with delta from that token. Same rows as the sequential
// path; nothing changed during the ranged read is lost; a throttled range is retried without loss or doubles.

const SEED = Number(process.env.TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`parallel load test seed: ${SEED} (TEST_SEED=${SEED} to repeat)`);

const ACCOUNTS = 300;
const CONTACTS = 120;
const PAGE = 20;

let h: CacheHarness;
const accountIds: string[] = [];
const contactIds: string[] = [];

beforeAll(async () => {
  h = await createCacheHarness(cacheEntities, {
    emulator: { seed: SEED, deltaRepeatProbability: 0.1 },
    cache: { pageSize: PAGE },
  });
  const site = h.emulator.site(SITE_REF);
  for (let i = 0; i < ACCOUNTS; i++) {
    accountIds.push(randomUUID());
    site.list('Accounts')!.createItem(
      rowToFields(h.list(Account), {
        id: accountIds[i],
        name: `Account ${i}`,
        employees: i,
        score: i / 3,
        active: i % 2 === 0,
        tier: 'pro',
        tags: i % 4 === 0 ? ['a', 'b'] : null,
        signedAt: new Date(Date.UTC(2024, 0, 1) + i * 60_000),
      }),
    );
  }
  for (let i = 0; i < CONTACTS; i++) contactIds.push(randomUUID());
  for (let i = 0; i < CONTACTS; i++) {
    // Managers point forward in the same list: often into a range another worker reads.
    site.list('Contacts')!.createItem(
      rowToFields(h.list(Contact), {
        id: contactIds[i],
        name: `Contact ${i}`,
        accountId: accountIds[(i * 7) % ACCOUNTS],
        managerId: i + 1 < CONTACTS ? contactIds[(i * 37 + 11) % CONTACTS] : null,
      }),
    );
  }
}, 120_000);

afterAll(async () => {
  await h?.close();
});

/** One md5 over every cached row, every sync_state entry (item id, eTag, hash) and the relation ids. */
async function tablesHash(): Promise<string> {
  const [row] = await h.dataSource.query(`
    SELECT md5(
      (SELECT string_agg(a::text, '|' ORDER BY a.id) FROM account a) || '#' ||
      (SELECT string_agg(c::text, '|' ORDER BY c.id) FROM contact c) || '#' ||
      (SELECT string_agg(concat_ws(',', entity, twenty_id, item_id, etag, content_hash), '|'
         ORDER BY entity, twenty_id) FROM sharepoint_sync.sync_state)) AS h`);
  return row.h;
}

/** `filter` query of the emulator's log, decoded. */
function ranged(): string[] {
  return h.emulator.log.entries
    .map((e) => new URLSearchParams(e.query).get('$filter') ?? '')
    .filter((f) => /fields\/id ge \d+ and fields\/id lt \d+/.test(f));
}

function cacheWith(graph: GraphClient, parallelism: number): Cache {
  const ctx: SyncContext = { ...h.ctx, graph };
  return new Cache(ctx, { lazy: true, ttlSeconds: 3600, pageSize: PAGE, loadParallelism: parallelism });
}

function graphClient(onRequest?: (e: GraphRequestEvent) => void): GraphClient {
  return new GraphClient({
    baseUrl: `${h.url}/v1.0`,
    budget: { resourceUnitsPerMinute: 1_000_000 },
    ...(onRequest ? { onRequest } : {}),
  });
}

async function count(table: string): Promise<number> {
  const [{ n }] = await h.dataSource.query(`SELECT count(*)::int AS n FROM ${table}`);
  return n;
}

describe('parallel cold load', { shuffle: false, timeout: 180_000 }, () => {
  it('gives exactly the rows of the sequential load (hash of the tables), through ranges of item ids', async () => {
    const sequential = cacheWith(graphClient(), 1);
    h.emulator.log.reset();
    await sequential.ensureLoaded([Account, Contact]);
    expect(ranged()).toHaveLength(0);
    const before = await tablesHash();
    expect(await count('account')).toBe(ACCOUNTS);

    const parallel = cacheWith(graphClient(), 4);
    h.emulator.log.reset();
    const results = await parallel.rebuild();
    expect(results.map((r) => r.mode)).toEqual(['full', 'full']);
    // The token came first, then the ranges (each at most a page of ids), then delta from the token.
    const log = h.emulator.log.entries.filter(
      (e) => e.path.includes('/Accounts') || e.path.includes('/lists/'),
    );
    const latest = log.findIndex((e) => new URLSearchParams(e.query).get('token') === 'latest');
    const firstRange = log.findIndex((e) =>
      /and fields\/id lt/.test(new URLSearchParams(e.query).get('$filter') ?? ''),
    );
    expect(latest).toBeGreaterThanOrEqual(0);
    expect(firstRange).toBeGreaterThan(latest);
    for (const f of ranged()) {
      const [, from, below] = /ge (\d+) and fields\/id lt (\d+)/.exec(f)!;
      expect(Number(below) - Number(from)).toBeLessThanOrEqual(PAGE);
    }
    expect(ranged().length).toBeGreaterThanOrEqual(Math.ceil((ACCOUNTS + CONTACTS) / PAGE));
    expect(await tablesHash()).toBe(before);
    expect((await parallel.verify()).ok).toBe(true);
  });

  it('items created (with and without a TwentyId), updated and deleted during the ranged read are all in the cache after it', async () => {
    const accounts = h.emulator.site(SITE_REF).list('Accounts')!;
    const items = accounts.items();
    const first = items[0]!;
    const last = items.at(-1)!;
    const middle = items[Math.floor(items.length / 2)]!;
    const gone = [items[1]!, items.at(-2)!];
    // An item a person added without a TwentyId before the load: the parallel path gives it one.
    accounts.createItem({ Title: 'x', Name: 'no id before', Active: true, Tier: 'free' });
    const createdId = randomUUID();
    let changedAt = -1;
    let rangedAfterChange = 0;
    const graph = graphClient((e) => {
      if (!/\/items(\?|$)/.test(e.path) || e.status !== 200) return;
      const rangesAnswered = ranged().length;
      if (changedAt >= 0) {
        rangedAfterChange++;
        return;
      }
      if (rangesAnswered === 0) return;
      // The first range answered: the others are in flight or still to come. A person edits SharePoint now.
      changedAt = rangesAnswered;
      accounts.updateItem(first.id, { Name: 'first, changed during the load' });
      accounts.updateItem(middle.id, { Name: 'middle, changed during the load' });
      accounts.updateItem(last.id, { Name: 'last, changed during the load' });
      for (const g of gone) accounts.deleteItem(g.id);
      accounts.createItem(
        rowToFields(h.list(Account), {
          id: createdId,
          name: 'created during the load',
          active: true,
          tier: 'pro',
        }),
      );
      accounts.createItem({ Title: 'y', Name: 'no id, during', Active: false, Tier: 'free' });
    });
    const parallel = cacheWith(graph, 4);
    h.emulator.log.reset();
    const [result] = await parallel.rebuild({ force: true });
    expect(changedAt).toBeGreaterThan(0);
    expect(rangedAfterChange).toBeGreaterThan(0); // the changes really happened while ranges were read

    const sharePoint = new Map(
      accounts.items().map((i) => [String(i.fields.TwentyId ?? ''), String(i.fields.Name)] as const),
    );
    expect(sharePoint.has('')).toBe(false); // both items without an id got one, in SharePoint too
    const rows = (await h.dataSource.query('SELECT id, name FROM account')) as { id: string; name: string }[];
    expect(new Map(rows.map((r) => [r.id, r.name]))).toEqual(sharePoint);
    expect(rows).toHaveLength(ACCOUNTS - 2 + 3);
    expect(sharePoint.get(createdId)).toBe('created during the load');
    expect(rows.find((r) => r.id === first.fields.TwentyId)?.name).toBe('first, changed during the load');
    expect(rows.find((r) => r.id === last.fields.TwentyId)?.name).toBe('last, changed during the load');
    for (const g of gone) expect(rows.some((r) => r.id === g.fields.TwentyId)).toBe(false);
    expect(rows.some((r) => r.name === 'no id before')).toBe(true);
    expect(rows.some((r) => r.name === 'no id, during')).toBe(true);
    expect(result!.assignedTwentyIds).toBeGreaterThanOrEqual(1);
    // Nothing was queued for write-back by the load, and the following delta brings nothing new.
    const [{ n }] = await h.dataSource.query('SELECT count(*)::int AS n FROM sharepoint_sync.outbox');
    expect(n).toBe(0);
    const again = await parallel.refresh(Account);
    expect(again.mode).toBe('delta');
    expect(again.loaded).toBe(0);
    expect((await parallel.verify()).ok).toBe(true);
  });

  it('a range answered 503 or 429 is retried: nothing lost, nothing doubled', async () => {
    const accounts = h.emulator.site(SITE_REF).list('Accounts')!;
    const before = await tablesHash();
    const graph = graphClient();
    const parallel = cacheWith(graph, 4);
    // 4 faults in all, fewer than the 6 tries a request has: whichever requests they fall on (a lone probe can
    // meet all of them in a row), the load must get through, so a failure here is the library's.
    const faults = ([503, 429] as const).map((status) =>
      h.emulator.faults.inject({
        method: 'GET',
        path: /\/items$/,
        status,
        retryAfterSeconds: 1,
        probability: 0.3,
        count: 2,
      }),
    );
    h.emulator.log.reset();
    try {
      await parallel.rebuild();
    } finally {
      for (const fault of faults) fault.remove();
    }
    const throttledRanges = h.emulator.log.entries.filter(
      (e) => e.throttled && /fields\/id/.test(new URLSearchParams(e.query).get('$filter') ?? ''),
    );
    expect(throttledRanges.length).toBeGreaterThan(0);
    expect(graph.stats().retries).toBeGreaterThanOrEqual(throttledRanges.length);
    expect(await count('account')).toBe(accounts.items().length);
    expect(await tablesHash()).toBe(before);
    expect((await parallel.verify()).ok).toBe(true);
  });
});
