import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SharePointSync } from '../../src/index.js';
import { createEmulator, type Emulator } from '../../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { waitFor } from '../support/wait.js';
import { Pulled } from './fixtures.js';

const SITE = 'contoso.sharepoint.com:/sites/pull';
let db: TestDatabase;
let emulator: Emulator;
let graphUrl: string;

async function attach(options: { pollIntervalSeconds: number }) {
  const dataSource = new DataSource({ type: 'postgres', url: db.url, entities: [Pulled], synchronize: true });
  await dataSource.initialize();
  const sync = await SharePointSync.attach(dataSource, {
    site: { hostname: 'contoso.sharepoint.com', path: '/sites/pull' },
    graph: { baseUrl: graphUrl, budget: { resourceUnitsPerMinute: 100_000_000 } },
    writeback: { runWorker: false },
    inbound: options,
    // The deltaLink a pull stores carries its page size ($top, as Graph's tokens keep the query's options):
    // the child's pull of 1,000 changes then comes in 20 pages, and can be killed between them.
    cache: { pageSize: 50 },
  });
  return { dataSource, sync };
}

beforeAll(async () => {
  db = await createTestDatabase();
  // Every call a little slow, so a pull of many pages takes long enough to be killed in the middle.
  emulator = createEmulator({ sites: [SITE], latencyMs: 15, deltaRepeatProbability: 0 });
  graphUrl = `${(await emulator.listen()).url}/v1.0`;
});
afterAll(async () => {
  await emulator?.close();
  await db?.drop();
});

it('the poll refreshes only lists already loaded: lazy loading stays lazy', async () => {
  const { dataSource, sync } = await attach({ pollIntervalSeconds: 1 });
  const polls: string[][] = [];
  sync.on((e) => {
    if (e.type === 'inbound.polled') polls.push(e.entities);
  });
  try {
    // Other tests of this file may have loaded the list already: start from nothing loaded. A poll that
    // began before this DELETE may still report the list, so look at the second poll after it.
    await dataSource.query('DELETE FROM sharepoint_sync.cache_state');
    const start = polls.length;
    await waitFor(() => polls.length >= start + 2, { timeoutMs: 30_000, message: 'two polls' });
    expect(polls.at(-1)).toEqual([]);
    const [{ n }] = await dataSource.query('SELECT count(*)::int AS n FROM sharepoint_sync.cache_state');
    expect(n).toBe(0);
    await sync.ensureLoaded(Pulled);
    const seen = polls.length;
    await waitFor(() => polls.length > seen, { timeoutMs: 30_000, message: 'the next poll' });
    expect(polls.at(-1)).toEqual(['Pulled']);
  } finally {
    await sync.close();
    await dataSource.destroy();
  }
});

it('with webhooks off, a change made in SharePoint arrives after one poll (create, update, delete)', async () => {
  const { dataSource, sync } = await attach({ pollIntervalSeconds: 1 });
  const applied: { upserted: number; deleted: number }[] = [];
  sync.on((e) => {
    if (e.type === 'inbound.applied' && e.entity === 'Pulled') applied.push(e);
  });
  try {
    await sync.loadAll();
    const repo = dataSource.getRepository(Pulled);
    const kept = await repo.save({ name: 'kept', size: 1 });
    const gone = await repo.save({ name: 'gone', size: 2 });
    await sync.flush();
    const list = emulator.site(SITE).list('Pulled')!;
    const item = (id: string) => list.items().find((i) => i.fields.TwentyId === id)!;
    list.updateItem(item(kept.id).id, { Size: 10 });
    list.deleteItem(item(gone.id).id);
    const typed = '5a1f3c2e-8d4b-4c6a-9e7f-0b1c2d3e4f50';
    list.createItem({ Title: 'typed', TwentyId: typed, Name: 'typed in SharePoint', Size: 3 });
    const before = applied.length;
    const changed = () => applied.slice(before).filter((a) => a.upserted > 0 || a.deleted > 0);
    await waitFor(
      async () =>
        // The pull reports after its commit: wait for the report too, not only for the rows.
        changed().length > 0 &&
        (await repo.findOneByOrFail({ id: kept.id })).size === 10 &&
        (await repo.findOneBy({ id: gone.id })) === null &&
        (await repo.findOneBy({ id: typed }))?.name === 'typed in SharePoint',
      { timeoutMs: 30_000, message: 'the poll' },
    );
    // Nothing but the poll timer pulls here. The three changes were made at once, so one pull brought them
    // all (asserted in pulls, not milliseconds, which a loaded machine stretches).
    expect(changed()).toEqual([expect.objectContaining({ upserted: 2, deleted: 1 })]);
  } finally {
    await sync.close();
    await dataSource.destroy();
  }
});

it('killed between applying delta pages and storing the token, the next pull ends exact', async () => {
  const { dataSource, sync } = await attach({ pollIntervalSeconds: 0 });
  const repo = dataSource.getRepository(Pulled);
  try {
    await dataSource.query('DELETE FROM pulled');
    await sync.flush();
    const rows = await repo.save(Array.from({ length: 1000 }, (_, i) => ({ name: `r${i}`, size: i })));
    await sync.flush();
    await sync.pull(Pulled);
    // 1,000 changes in SharePoint: 20 pages of 50 for the child's pull.
    const list = emulator.site(SITE).list('Pulled')!;
    for (const item of list.items()) list.updateItem(item.id, { Size: Number(item.fields.Size) + 100_000 });
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(import.meta.dirname, 'child-pull.ts')],
      {
        env: { ...process.env, PULL_CHILD: JSON.stringify({ databaseUrl: db.url, graphUrl }) },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const lines = readline.createInterface({ input: child.stdout! });
    const seen: string[] = [];
    lines.on('line', (l) => seen.push(l));
    await waitFor(() => seen.includes('attached'), { timeoutMs: 60_000, message: 'the child to attach' });
    // Some pages applied, not all: kill it there.
    await waitFor(
      async () => {
        const [{ n }] = await dataSource.query('SELECT count(*)::int AS n FROM pulled WHERE size >= 100000');
        return n >= 50 && n < 1000;
      },
      { timeoutMs: 60_000, intervalMs: 5, message: 'a pull half done' },
    );
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(seen).not.toContain('pulled');
    const [{ n: partial }] = await dataSource.query(
      'SELECT count(*)::int AS n FROM pulled WHERE size >= 100000',
    );
    expect(partial).toBeLessThan(1000);

    const [result] = await sync.pull(Pulled);
    expect(result!.mode).toBe('delta');
    const after = await repo.find();
    expect(after).toHaveLength(1000);
    const bySize = new Map(rows.map((r) => [r.id, r.size! + 100_000]));
    expect(after.every((r) => r.size === bySize.get(r.id))).toBe(true);
    expect((await sync.verify()).ok).toBe(true);
    expect((await sync.pending()).total).toBe(0);
  } finally {
    await sync.close();
    await dataSource.destroy();
  }
}, 120_000);
