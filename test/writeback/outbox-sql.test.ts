import { DataSource } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ListSchema } from '../../src/schema/index.js';
import { installCaptureTriggers } from '../../src/store/capture.js';
import { rows } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrations.js';
import * as sql from '../../src/store/sql.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

// The outbox SQL on its own: due times per priority, claims, orphan release, dead letters.
const S = 'sharepoint_sync';
let db: TestDatabase;
let ds: DataSource;

const list = (entityName: string, table: string, priority: string) =>
  ({ kind: 'entity', entityName, tablePath: table, primaryKey: 'id', priority }) as unknown as ListSchema;

beforeAll(async () => {
  db = await createTestDatabase();
  ds = new DataSource({ type: 'postgres', url: db.url });
  await ds.initialize();
  await migrate(ds, S);
  for (const t of ['p0', 'p1', 'p2', 'p3']) await ds.query(`CREATE TABLE ${t} (id text PRIMARY KEY, v int)`);
  await installCaptureTriggers(ds, S, [
    list('P0', 'p0', 'P0'),
    list('P1', 'p1', 'P1'),
    list('P2', 'p2', 'P2'),
    list('P3', 'p3', 'P3'),
  ]);
});
afterAll(async () => {
  await ds?.destroy();
  await db?.drop();
});
beforeEach(async () => {
  await ds.query(`DELETE FROM ${S}.outbox`);
  await ds.query(`DELETE FROM ${S}.dead_letters`);
});

const claim = (worker: number, { window = 10, hour = 2, flush = false, limit = 100 } = {}) =>
  rows<{ id: string; entity: string; twenty_id: string; version: number }>(ds, sql.claimDue(S), [
    worker,
    window,
    hour,
    flush,
    limit,
  ]);
const age = (entity: string, interval: string) =>
  ds.query(
    `UPDATE ${S}.outbox SET enqueued_at = clock_timestamp() - interval '${interval}' WHERE entity = $1`,
    [entity],
  );

describe('outbox SQL', () => {
  it('is due by priority: P0 now, P1 after the window, P2 at the 5-minute mark, P3 daily; flush ignores all', async () => {
    for (const t of ['p0', 'p1', 'p2', 'p3']) await ds.query(`INSERT INTO ${t} VALUES ('a', 1)`);
    expect((await claim(1)).map((r) => r.entity)).toEqual(['P0']);
    await age('P1', '11 seconds');
    await age('P2', '301 seconds');
    expect((await claim(1)).map((r) => r.entity)).toEqual(['P1', 'P2']);
    await age('P3', '25 hours');
    expect((await claim(1)).map((r) => r.entity)).toEqual(['P3']);
    await ds.query(`UPDATE ${S}.outbox SET claimed_by = NULL`);
    await ds.query(`UPDATE ${S}.outbox SET enqueued_at = clock_timestamp()`);
    expect((await claim(1, { flush: true })).map((r) => r.entity).sort()).toEqual(['P0', 'P1', 'P2', 'P3']);
  });

  it('coalescing keeps the first enqueue time, so a hot P1 record is not starved', async () => {
    await ds.query(`INSERT INTO p1 VALUES ('hot', 1)`);
    await age('P1', '11 seconds');
    await ds.query(`UPDATE p1 SET v = v + 1`);
    const [row] = await claim(1);
    expect(row).toMatchObject({ twenty_id: 'hot', version: 2 });
  });

  it('never hands one row to two workers, and frees the claims of workers that hold no lock', async () => {
    await ds.query(`INSERT INTO p0 SELECT g::text, g FROM generate_series(1, 50) g`);
    const [a, b] = await Promise.all([claim(101, { limit: 30 }), claim(102, { limit: 30 })]);
    expect(a.length + b.length).toBe(50);
    expect(new Set([...a, ...b].map((r) => r.id)).size).toBe(50);
    // Worker 103 is alive (holds its lock); 101 and 102 are not.
    const runner = ds.createQueryRunner();
    await runner.query('SELECT pg_advisory_lock($1, 103)', [sql.WORKER_LOCK_CLASS]);
    await ds.query(
      `UPDATE ${S}.outbox SET claimed_by = 103 WHERE id IN (SELECT id FROM ${S}.outbox LIMIT 5)`,
    );
    await ds.query(sql.releaseOrphanClaims(S));
    const held = await ds.query(`SELECT claimed_by FROM ${S}.outbox WHERE claimed_by IS NOT NULL`);
    expect(held).toEqual(Array.from({ length: 5 }, () => ({ claimed_by: 103 })));
    await runner.query('SELECT pg_advisory_unlock($1, 103)', [sql.WORKER_LOCK_CLASS]);
    await runner.release();
  });

  it('only removes a sent row whose version did not move since the claim', async () => {
    await ds.query(`INSERT INTO p0 VALUES ('x', 1), ('y', 1)`);
    const claimed = await claim(7);
    await ds.query(`UPDATE p0 SET v = 2 WHERE id = 'y'`);
    const gone = await rows<{ id: string }>(ds, sql.deleteSentOutbox(S), [7, claimed.map((c) => c.id)]);
    expect(gone).toHaveLength(1);
    await ds.query(sql.releaseClaims(S), [7, claimed.map((c) => c.id)]);
    expect(await ds.query(`SELECT twenty_id, version, claimed_by FROM ${S}.outbox`)).toEqual([
      { twenty_id: 'y', version: 2, claimed_by: null },
    ]);
  });

  it('dead-letters and re-queues', async () => {
    await ds.query(`INSERT INTO p0 VALUES ('bad', 1)`);
    const claimed = await claim(9);
    const moved = await rows(ds, sql.deadLetterOutbox(S), [
      9,
      claimed.map((c) => c.id),
      ['400 invalidRequest: name'],
    ]);
    expect(moved).toHaveLength(1);
    expect(await ds.query(`SELECT count(*)::int AS n FROM ${S}.outbox`)).toEqual([{ n: 0 }]);
    const [requeued] = await rows<{ n: number }>(ds, sql.requeueDeadLetters(S), [null, null]);
    expect(requeued!.n).toBe(1);
    expect(await ds.query(`SELECT entity, twenty_id, attempts FROM ${S}.outbox`)).toEqual([
      { entity: 'P0', twenty_id: 'bad', attempts: 0 },
    ]);
  });
});
