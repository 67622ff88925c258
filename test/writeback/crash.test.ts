import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait.js';
import { WRITEBACK_ENTITIES } from './fixtures.js';
import { compareWithSharePoint, createHarness, type Harness } from './support.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness(WRITEBACK_ENTITIES, { seed: 7 });
  await h.writeback().install();
});
afterAll(async () => {
  await h?.close();
});

/** Starts a worker process and resolves once it is sending. */
async function startChild(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/writeback/child-worker.ts'], {
    env: {
      ...process.env,
      WB_CHILD: JSON.stringify({
        databaseUrl: h.db.url,
        url: h.url,
      }),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
  });
  return child;
}

/** A round of mixed changes through plain SQL statements (the trigger captures every row). */
async function changeSomething(round: number): Promise<number> {
  let changes = 0;
  const run = async (sql: string) => {
    const [, affected] = await h.dataSource.query(sql);
    changes += Number(affected ?? 0);
  };
  const [inserted] = await h.dataSource.query(
    `WITH x AS (INSERT INTO wb_company (name, employees)
       SELECT 'c' || ${round} || '-' || g, g FROM generate_series(1, 700) g RETURNING 1) SELECT count(*)::int AS n FROM x`,
  );
  changes += inserted.n;
  const [notes] = await h.dataSource.query(
    `WITH x AS (INSERT INTO wb_note (body) SELECT 'n' || ${round} || '-' || g FROM generate_series(1, 300) g RETURNING 1)
     SELECT count(*)::int AS n FROM x`,
  );
  changes += notes.n;
  await run(`UPDATE wb_company SET employees = coalesce(employees, 0) + 1 WHERE random() < 0.25`);
  await run(`UPDATE wb_company SET name = name || '+' WHERE random() < 0.05`);
  await run(`UPDATE wb_company SET "deletedAt" = now() WHERE random() < 0.02 AND "deletedAt" IS NULL`);
  await run(`UPDATE wb_note SET body = body || '*' WHERE random() < 0.2`);
  await run(`DELETE FROM wb_company WHERE random() < 0.04`);
  await run(`DELETE FROM wb_note WHERE random() < 0.04`);
  return changes;
}

const SEED = Number(process.env.CRASH_SEED ?? 7);
/** mulberry32: the kill points repeat for a seed (CRASH_SEED). */
let state = SEED >>> 0;
function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

describe('crash safety', () => {
  it('converges with 0 lost and 0 duplicate items after SIGKILLs at random points', async () => {
    console.info(`crash: kill points seeded with CRASH_SEED=${SEED}`);
    let changes = 0;
    let kills = 0;
    let round = 0;
    const sentBefore = () => h.emulator.log.counters().batchRequests;
    while (changes < 10_000 || kills < 5) {
      changes += await changeSomething(round++);
      const child = await startChild();
      const before = sentBefore();
      // Kill it mid-flight: after a seeded random number of sent requests (a point in the work, not a
      // moment in time, so a loaded machine sees the same kill points).
      const sentMore = 20 + Math.floor(random() * 60);
      await waitFor(() => sentBefore() > before + sentMore, { timeoutMs: 60_000, message: 'worker sending' });
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      kills++;
    }
    await h.writeback({ concurrency: 4 }).flush({ timeoutMs: 60_000 });
    for (const entity of ['WbCompany', 'WbNote']) {
      const diff = await compareWithSharePoint(h, entity);
      expect(diff.rows).toBeGreaterThan(0);
      expect({ entity, ...diff, rows: undefined }).toEqual({
        entity,
        missing: [],
        extra: [],
        duplicates: [],
        different: [],
        rows: undefined,
      });
    }
    expect(kills).toBeGreaterThanOrEqual(5);
    expect(changes).toBeGreaterThanOrEqual(10_000);
    // Each round starts a worker process (tsx): slow on a loaded machine, so a deadline well above the ~35 s
    // it takes on an idle one.
  }, 300_000);
});
