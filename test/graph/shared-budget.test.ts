// Two application processes, one tenant budget (issue 19): they take resource units from one allowance in
// PostgreSQL, so together they stay within the budget the emulator enforces; and a 429 with Retry-After met by
// one pauses the other too.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { DataSource } from 'typeorm';
import { afterEach, expect, it } from 'vitest';
import { SharePointSync } from '../../src/index.js';
import { createEmulator, type Emulator } from '../../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { waitFor } from '../support/wait.js';
import { Budgeted, SITE } from './shared-budget-fixtures.js';

const SITE_REF = `${SITE.hostname}:${SITE.path}`;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** A database, an emulator enforcing `budget` RU per minute, the list bootstrapped with two items. */
async function setup(budget: number) {
  const db: TestDatabase = await createTestDatabase();
  cleanups.push(() => db.drop());
  const emulator: Emulator = createEmulator({ sites: [SITE_REF], resourceUnitsPerMinute: budget, seed: 19 });
  const graphUrl = `${(await emulator.listen()).url}/v1.0`;
  cleanups.push(() => emulator.close());
  const dataSource = new DataSource({
    type: 'postgres',
    url: db.url,
    entities: [Budgeted],
    synchronize: true,
  });
  await dataSource.initialize();
  const sync = await SharePointSync.attach(dataSource, {
    site: SITE,
    graph: { baseUrl: graphUrl, budget: { resourceUnitsPerMinute: budget } },
    writeback: { runWorker: false },
    inbound: { pollIntervalSeconds: 0 },
  });
  await sync.close();
  await dataSource.destroy();
  const list = emulator.site(SITE_REF).list('Budgeted')!;
  const items = [
    list.createItem({ Title: 'a', Name: 'a', TwentyId: '00000000-0000-4000-8000-000000000001' }),
    list.createItem({ Title: 'b', Name: 'b', TwentyId: '00000000-0000-4000-8000-000000000002' }),
  ];
  const site = emulator.site(SITE_REF);
  const itemPath = (i: number) => `/sites/${site.id}/lists/${list.id}/items/${items[i]!.id}`;
  return { db, emulator, graphUrl, itemPath };
}

interface Child {
  process: ChildProcess;
  stop(): Promise<{ errors: number; budget: { throttled: number; shared: boolean } }>;
}

async function child(config: { databaseUrl: string; graphUrl: string; budget: number; path: string }) {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, 'shared-budget-child.ts')],
    { env: { ...process.env, BUDGET_CHILD: JSON.stringify(config) }, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  cleanups.push(async () => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  });
  const lines = readline.createInterface({ input: proc.stdout! });
  const output: string[] = [];
  lines.on('line', (line) => output.push(line));
  await waitFor(() => output.includes('attached') || proc.exitCode !== null, {
    timeoutMs: 120_000,
    message: 'the child attached',
  });
  if (proc.exitCode !== null) throw new Error(`the child exited (${proc.exitCode}) before attaching`);
  return {
    process: proc,
    async stop() {
      proc.stdin!.write('stop\n');
      const last = await waitFor(() => output.find((l) => l.startsWith('{')), {
        timeoutMs: 60_000,
        message: 'the child stopped',
      });
      return JSON.parse(last);
    },
  } satisfies Child;
}

/** Requests the emulator received for one item path (without /v1.0), with their time and cost. */
function received(emulator: Emulator, itemPath: string) {
  return emulator.log.entries.filter((e) => e.path === itemPath);
}

it('two processes, one budget: together within what the emulator enforces, no 429, most of it used', async () => {
  const BUDGET = 240; // burst 40, then 200 RU per 61 s; each process alone would spend 240 per minute
  const { db, emulator, graphUrl, itemPath } = await setup(BUDGET);
  // a starts alone and spends the whole budget as it comes, one unit at a time (its burst first).
  const a = await child({ databaseUrl: db.url, graphUrl, budget: BUDGET, path: itemPath(0) });
  await waitFor(() => received(emulator, itemPath(0)).length >= 40, {
    timeoutMs: 60_000,
    message: "a's burst",
  });
  // b joins the busy deployment: its attach (larger requests) waits its turn instead of losing every race
  // for units to a's stream of small ones (before the ledger queued waiters, it starved for minutes).
  const joinedAt = Date.now();
  const b = await child({ databaseUrl: db.url, graphUrl, budget: BUDGET, path: itemPath(1) });
  const attachMs = Date.now() - joinedAt;
  // A load period (not a synchronisation): both send as fast as their budget allows for 30 s.
  const start = Date.now();
  await waitFor(() => Date.now() - start >= 30_000, { timeoutMs: 60_000, intervalMs: 200, message: '30 s' });
  const [fromA, fromB] = await Promise.all([a.stop(), b.stop()]);
  const during = (i: number) =>
    received(emulator, itemPath(i)).filter((e) => e.at >= start && e.at < start + 30_000);
  const all = emulator.log.entries;
  console.info(
    `shared budget ${BUDGET} RU/min: b attached ${attachMs} ms after it started, while a was busy; in the 30 s both ran: ` +
      `a ${during(0).length} GETs, b ${during(1).length}; emulator charged ${all.reduce((n, e) => n + e.resourceUnits, 0)} RU in all, ` +
      `${all.filter((e) => e.throttled).length} throttled`,
  );
  expect(all.filter((e) => e.throttled)).toEqual([]);
  expect(fromA.errors + fromB.errors).toBe(0);
  // Starting a process (node, tsx, a DataSource) takes a few seconds here; its Graph requests a few more.
  expect(attachMs).toBeLessThan(30_000);
  // Both got their share, and together they used most of what 30 s allow (200 RU per 61 s, 1 RU a GET).
  expect(during(0).length).toBeGreaterThan(20);
  expect(during(1).length).toBeGreaterThan(20);
  expect(during(0).length + during(1).length).toBeGreaterThanOrEqual(0.7 * ((200 / 61) * 30));
  expect(fromA.budget.shared && fromB.budget.shared).toBe(true);
}, 300_000);

it('a 429 with Retry-After met by one process pauses the other until then', async () => {
  const BUDGET = 6000;
  const { db, emulator, graphUrl, itemPath } = await setup(BUDGET);
  const [a, b] = await Promise.all([
    child({ databaseUrl: db.url, graphUrl, budget: BUDGET, path: itemPath(0) }),
    child({ databaseUrl: db.url, graphUrl, budget: BUDGET, path: itemPath(1) }),
  ]);
  await waitFor(() => received(emulator, itemPath(1)).length >= 50, {
    timeoutMs: 60_000,
    message: 'b running',
  });
  const fault = emulator.faults.inject({
    path: itemPath(0),
    status: 429,
    retryAfterSeconds: 4,
    count: 1,
  });
  await waitFor(() => fault.hits === 1, { timeoutMs: 30_000, message: "a's 429" });
  const throttledAt = received(emulator, itemPath(0)).find((e) => e.status === 429)!.at;
  await waitFor(() => received(emulator, itemPath(1)).some((e) => e.at >= throttledAt + 4000), {
    timeoutMs: 30_000,
    message: 'b after the pause',
  });
  await Promise.all([a.stop(), b.stop()]);
  const bTimes = received(emulator, itemPath(1)).map((e) => e.at - throttledAt);
  const aTimes = received(emulator, itemPath(0)).map((e) => e.at - throttledAt);
  const bDuring = bTimes.filter((t) => t > 2000 && t < 3900);
  console.info(
    `a met a 429 (Retry-After 4 s); b's requests: ${bTimes.filter((t) => t > -1000 && t <= 0).length} in the second before, ` +
      `${bTimes.filter((t) => t > 0 && t <= 2000).length} in the 2 s after (its leased share), ${bDuring.length} from 2 s to 3.9 s, ` +
      `first after the pause at +${Math.min(...bTimes.filter((t) => t >= 3900))} ms`,
  );
  // b was running flat out just before, so without the shared pause it would have sent hundreds meanwhile.
  expect(bTimes.filter((t) => t > -1000 && t <= 0).length).toBeGreaterThan(10);
  expect(bDuring).toEqual([]);
  // a's own requests already past the limiter when the 429 came back may still arrive just after it.
  expect(aTimes.filter((t) => t > 1000 && t < 3900)).toEqual([]);
  expect(bTimes.some((t) => t >= 4000)).toBe(true);
}, 300_000);
