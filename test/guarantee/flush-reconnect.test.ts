import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '../support/wait.js';
import { WRITEBACK_ENTITIES } from '../writeback/fixtures.js';
import { compareWithSharePoint, createHarness, type Harness } from '../writeback/support.js';

// flush() is how an application (or the CLI) makes sure everything went out: a killed connection half-way — a
// PostgreSQL restart, a pooler dropping it — must not make it fail while the database comes back in time.
const CHANGES = 200;
let h: Harness;
let admin: pg.Client;

beforeAll(async () => {
  // Slow answers keep the flush going long enough to cut its connections mid-way, with claims in flight.
  h = await createHarness(WRITEBACK_ENTITIES, { latencyMs: 40 });
  await h.writeback().install();
  admin = new pg.Client({ connectionString: h.db.url });
  await admin.connect();
});
afterAll(async () => {
  await admin?.end();
  await h?.close();
});

const creates = () =>
  h.emulator.log.entries.filter((e) => e.inBatch && e.method === 'POST' && /\/items$/.test(e.path));

it('flush() carries on across killed connections and sends every change exactly once', async () => {
  const wb = h.writeback({ runWorker: false, batchSize: 5, concurrency: 4 });
  await h.dataSource.query(
    `INSERT INTO wb_company (name, employees) SELECT 'flush-' || g, g FROM generate_series(1, ${CHANGES}) g`,
  );
  const flushing = wb.flush({ timeoutMs: 60_000 });
  await waitFor(() => creates().length >= CHANGES / 4, { timeoutMs: 20_000, message: 'a quarter sent' });
  // Cut every connection of the application again and again until the flush ends (a flapping database).
  let cuts = 0;
  let done = false;
  void flushing.finally(() => {
    done = true;
  });
  while (!done && cuts < 20) {
    const { rows: killed } = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    cuts += killed.length > 0 ? 1 : 0;
    // The next cut once the flush has made progress again (it must, after each cut).
    const before = creates().length;
    await waitFor(() => done || creates().length >= before + 10, {
      timeoutMs: 20_000,
      message: `the flush sending again after cut ${cuts}`,
    });
  }
  console.info(`flush across ${cuts} cuts of every connection`);
  expect(cuts).toBeGreaterThan(1);
  await expect(flushing).resolves.toBeDefined();
  const { rows } = await admin.query('SELECT count(*)::int AS n FROM sharepoint_sync.outbox');
  expect(rows[0].n).toBe(0);
  // The last cut may have come as the flush ended: the test's own pool still holds killed idle connections
  // until a query meets one (the test's side, not the library's), so the read is tried again if it meets one.
  const cmp = await waitFor(() => compareWithSharePoint(h, 'WbCompany'), {
    timeoutMs: 10_000,
    message: 'the cache read after the last cut',
  });
  expect(cmp).toMatchObject({ rows: CHANGES, missing: [], duplicates: [], extra: [], different: [] });
  await wb.stop();
}, 120_000);
