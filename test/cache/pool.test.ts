import type { QueryRunner } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowToFields } from '../../src/schema/index.js';
import { type Attached, type AttachedSetup, createAttachedSetup } from '../support/attached.js';
import { Account, cacheEntities } from './fixtures.js';

// The connection pool is the application's, and it may be busy. Nothing the library waits on may need a
// connection from it while it holds one: the shared budget's ledger (every Graph request leases from it) has
// connections of its own, and a parallel load writes on its own connection plus only those the pool gives at
// once. Before, a load held its connection while its workers waited for more, and each Graph request of those
// workers waited for a pooled connection for its lease: with the pool held, nothing ever moved again.

const SITE = 'contoso.sharepoint.com:/sites/pool';
const POOL = 3;
const ACCOUNTS = 300;

let setup: AttachedSetup;
let a: Attached;

beforeAll(async () => {
  setup = await createAttachedSetup({
    site: SITE,
    entities: cacheEntities,
    options: { cache: { pageSize: 20, loadParallelism: 8 } },
  });
  a = await setup.attach({}, POOL);
  const list = a.parts.context.lists.find((l) => l.entityName === 'Account')!;
  const accounts = setup.emulator.site(SITE).list('Accounts')!;
  for (let i = 0; i < ACCOUNTS; i++) {
    accounts.createItem(
      rowToFields(list, { id: crypto.randomUUID(), name: `Account ${i}`, active: true, tier: 'pro' }),
    );
  }
}, 120_000);

afterAll(async () => {
  await setup?.close();
});

/** `work`, or an error once `ms` passed (a deadlock shows as this error, not as a hung suite). */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Takes `count` connections of the DataSource's pool, as an application busy with its own work would. */
async function holdConnections(count: number): Promise<QueryRunner[]> {
  const held: QueryRunner[] = [];
  for (let i = 0; i < count; i++) {
    const runner = a.dataSource.createQueryRunner();
    await runner.connect();
    await runner.query('SELECT 1');
    held.push(runner);
  }
  return held;
}

describe('a busy connection pool', { timeout: 120_000 }, () => {
  it("the shared budget's ledger answers while the application holds every pooled connection", async () => {
    const held = await holdConnections(POOL);
    try {
      const figures = await within(
        10_000,
        'reading the shared budget',
        a.parts.context.graph.budgetFigures(),
      );
      expect(figures.shared).toBe(true);
      expect(figures.usedThisMinute).toBeGreaterThan(0); // the attach's own requests, counted in the ledger
    } finally {
      await Promise.all(held.map((r) => r.release()));
    }
  });

  it('a parallel load finishes on the one connection the application left it, with every item', async () => {
    // The load's own connection is the last free one: no worker gets another, and each Graph request of the
    // workers leases from the ledger meanwhile.
    const held = await holdConnections(POOL - 1);
    setup.emulator.log.reset();
    try {
      const [result] = await within(60_000, 'the parallel load', a.sync.rebuild());
      expect(result!.loaded).toBe(ACCOUNTS);
    } finally {
      await Promise.all(held.map((r) => r.release()));
    }
    const ranged = setup.emulator.log.entries.filter((e) =>
      /fields\/id lt/.test(new URLSearchParams(e.query).get('$filter') ?? ''),
    );
    expect(ranged.length).toBeGreaterThanOrEqual(ACCOUNTS / 20); // it was the ranged (parallel) path
    const [{ n }] = await a.dataSource.query('SELECT count(*)::int AS n FROM account');
    expect(n).toBe(ACCOUNTS);
    expect((await a.sync.verify([Account])).ok).toBe(true);
  });

  it('with the pool free, the same load finishes and gives every connection back', async () => {
    const [result] = await within(60_000, 'the parallel load', a.sync.rebuild());
    expect(result!.loaded).toBe(ACCOUNTS);
    // Every connection of the pool is free again: the application can take all of them at once.
    const held = await within(5_000, 'taking the whole pool', holdConnections(POOL));
    await Promise.all(held.map((r) => r.release()));
  });
});
