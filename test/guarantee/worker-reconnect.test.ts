import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as sql from '../../src/store/sql.js';
import type { Writeback } from '../../src/writeback/index.js';
import { waitFor } from '../support/wait.js';
import { WRITEBACK_ENTITIES } from '../writeback/fixtures.js';
import { compareWithSharePoint, createHarness, type Harness } from '../writeback/support.js';

const CHANGES = 200;
let h: Harness;
let admin: pg.Client;
let wb: Writeback;

beforeAll(async () => {
  // Slow answers keep the drain going long enough to cut the connection mid-way, with claims in flight.
  h = await createHarness(WRITEBACK_ENTITIES, { latencyMs: 40 });
  await h.writeback().install();
  admin = new pg.Client({ connectionString: h.db.url });
  await admin.connect();
  // The poll is far away: after the cut only the worker's own recovery (and its LISTEN) can move anything.
  wb = h.writeback({ runWorker: true, batchSize: 5, concurrency: 4, pollIntervalMs: 120_000 });
  wb.start();
});
afterAll(async () => {
  await wb?.stop();
  await admin?.end();
  await h?.close();
});

const inner = () => h.emulator.log.entries.filter((e) => e.inBatch);
const creates = () => inner().filter((e) => e.method === 'POST' && /\/items$/.test(e.path));
const outboxSize = async () => {
  const { rows } = await admin.query('SELECT count(*)::int AS n FROM sharepoint_sync.outbox');
  return rows[0].n as number;
};

/** Backends holding a write-back worker's session lock (the worker's lock + LISTEN connection). */
const lockBackends = async (): Promise<number[]> =>
  (
    await admin.query(
      `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1::bigint::oid
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [sql.WORKER_LOCK_CLASS],
    )
  ).rows.map((r: { pid: number }) => r.pid);

/**
 * Saves CHANGES creates, cuts the connection(s) with `kill` once a quarter of them went out, and waits for the
 * drain. Returns Graph requests per change before and after the cut.
 */
async function drainAcrossCut(kill: () => Promise<void>, round: string) {
  h.emulator.log.reset();
  await h.dataSource.query(
    `INSERT INTO wb_company (name, employees) SELECT '${round}-' || g, g FROM generate_series(1, ${CHANGES}) g`,
  );
  await waitFor(() => creates().length >= CHANGES / 4, { timeoutMs: 20_000, message: 'a quarter sent' });
  const lockedBefore = await lockBackends();
  expect(lockedBefore).toHaveLength(1);
  await kill();
  const requestsBefore = inner().length;
  const createsBefore = creates().length;
  expect(createsBefore).toBeLessThan(CHANGES * 0.8);
  await waitFor(async () => (await outboxSize()) === 0, {
    timeoutMs: 30_000,
    message: 'the drain after the cut',
  });
  // The worker is idle (outbox empty): the log and the database no longer move.
  const all = inner();
  const perChangeBefore = requestsBefore / createsBefore;
  const perChangeAfter = (all.length - requestsBefore) / (CHANGES - createsBefore);
  const conflicts = all.filter((e) => e.status === 409).length;
  const lookups = all.filter((e) => e.method === 'GET').length;
  const lockedAfter = await lockBackends();
  return {
    perChangeBefore,
    perChangeAfter,
    creates: creates().length,
    conflicts,
    lookups,
    lockedBefore,
    lockedAfter,
  };
}

async function expectP0Wakeup(name: string): Promise<void> {
  const [row] = await h.dataSource.query(`INSERT INTO wb_company (name) VALUES ($1) RETURNING id`, [name]);
  await waitFor(() => h.items('WbCompany').has(row.id), {
    timeoutMs: 15_000,
    message: 'a P0 change sent on its NOTIFY (the poll is 2 minutes away)',
  });
}

describe('the worker after its PostgreSQL session is cut', () => {
  it('re-acquires its lock and LISTEN when its lock connection is killed, and sends nothing twice', async () => {
    await expectP0Wakeup('warm-up');
    const r = await drainAcrossCut(async () => {
      for (const pid of await lockBackends()) await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    }, 'lock');
    expect(r.conflicts).toBe(0);
    expect(r.lookups).toBe(0);
    expect(r.creates).toBe(CHANGES);
    expect(Math.abs(r.perChangeAfter - r.perChangeBefore) / r.perChangeBefore).toBeLessThanOrEqual(0.05);
    expect(r.lockedAfter).toHaveLength(1);
    expect(r.lockedAfter).not.toEqual(r.lockedBefore);
    await expectP0Wakeup('after-lock-cut');
    const cmp = await compareWithSharePoint(h, 'WbCompany');
    expect({ missing: cmp.missing, duplicates: cmp.duplicates, extra: cmp.extra }).toEqual({
      missing: [],
      duplicates: [],
      extra: [],
    });
  });

  it('recovers the same way when every backend is killed, as a PostgreSQL restart does', async () => {
    const r = await drainAcrossCut(async () => {
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      );
    }, 'all');
    expect(r.conflicts).toBe(0);
    expect(r.lookups).toBe(0);
    expect(r.creates).toBe(CHANGES);
    expect(Math.abs(r.perChangeAfter - r.perChangeBefore) / r.perChangeBefore).toBeLessThanOrEqual(0.05);
    expect(r.lockedAfter).toHaveLength(1);
    await waitFor(() => expectP0Wakeup('after-restart').then(() => true), {
      timeoutMs: 20_000,
      message: 'a P0 change after the restart',
    });
    const cmp = await waitFor(async () => compareWithSharePoint(h, 'WbCompany'), { message: 'comparison' });
    expect({ missing: cmp.missing, duplicates: cmp.duplicates, extra: cmp.extra }).toEqual({
      missing: [],
      duplicates: [],
      extra: [],
    });
  });
});
