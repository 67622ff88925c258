import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { rowToFields } from '../../src/schema/index.js';
import { waitFor } from '../support/wait.js';
import { Account, cacheEntities } from './fixtures.js';
import { type CacheHarness, createCacheHarness, SITE_REF } from './harness.js';

let h: CacheHarness;
const a = randomUUID();
const b = randomUUID();

beforeAll(async () => {
  h = await createCacheHarness(cacheEntities, { emulator: { deltaRepeatProbability: 0 } });
  const list = h.emulator.site(SITE_REF).list('Accounts')!;
  // A sorts before B in the feed (created first): a load locks A's row, then B's.
  for (const [id, name] of [
    [a, 'A'],
    [b, 'B'],
  ] as const) {
    list.createItem(rowToFields(h.list(Account), { id, name, active: true, tier: 'free' }));
  }
  await h.cache.ensureLoaded(Account);
});
afterAll(async () => {
  await h?.close();
});

it('a load steps back from an application transaction instead of deadlocking it', async () => {
  const list = h.emulator.site(SITE_REF).list('Accounts')!;
  for (const item of list.items()) list.updateItem(item.id, { Employees: 7 });

  const app = h.dataSource.createQueryRunner();
  await app.connect();
  await app.startTransaction();
  try {
    await app.query('UPDATE account SET employees = 1 WHERE id = $1', [b]); // the application holds B
    const refresh = h.cache.refresh(Account); // the load takes A, then waits for B
    await waitFor(
      async () =>
        (
          await h.dataSource.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          )
        )[0].n > 0,
      { timeoutMs: 30_000, intervalMs: 5, message: 'the load to wait for the application lock' },
    );
    // The application now wants A: a lock cycle. The load's 100 ms lock timeout fires long before
    // PostgreSQL's 1 s deadlock check, so the load is the side that steps back.
    await app.query('UPDATE account SET employees = 2 WHERE id = $1', [a]);
    await app.commitTransaction();
    const result = await refresh;
    expect(result.mode).toBe('delta');
    expect(result.pendingLocal).toBe(2);
  } finally {
    if (app.isTransactionActive) await app.rollbackTransaction();
    await app.release();
  }
  // Nothing was lost: the application's committed values stand (waiting in the outbox to be sent), and the
  // load counted them as local changes it left alone.
  const rows = await h.dataSource.query('SELECT name, employees FROM account ORDER BY name');
  expect(rows).toEqual([
    { name: 'A', employees: 2 },
    { name: 'B', employees: 1 },
  ]);
  const [{ n }] = await h.dataSource.query('SELECT count(*)::int AS n FROM sharepoint_sync.outbox');
  expect(n).toBe(2);
});
