import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListSchema } from '../../src/schema/index.js';
import { installCaptureTriggers } from '../../src/store/capture.js';
import { waitFor } from '../support/wait.js';
import { WRITEBACK_ENTITIES } from '../writeback/fixtures.js';
import { createHarness, type Harness } from '../writeback/support.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness(WRITEBACK_ENTITIES);
  await h.writeback().install();
});
afterAll(async () => {
  await h?.close();
});

/** The synced lists with WbCompany's priority set to `priority` (a changed trigger definition). */
const listsWith = (priority: ListSchema['priority']): ListSchema[] =>
  h.ctx.lists.map((l) => (l.entityName === 'WbCompany' ? { ...l, priority } : l));

async function uncaptured(): Promise<{ company: number; note: number }> {
  const [row] = await h.dataSource.query(`
    SELECT (SELECT count(*) FROM wb_company c WHERE NOT EXISTS (SELECT 1 FROM sharepoint_sync.outbox o
              WHERE o.entity = 'WbCompany' AND o.twenty_id = c.id::text))::int AS company,
           (SELECT count(*) FROM wb_note n WHERE NOT EXISTS (SELECT 1 FROM sharepoint_sync.outbox o
              WHERE o.entity = 'WbNote' AND o.twenty_id = n.id::text))::int AS note`);
  return row;
}

const triggerOids = async (): Promise<string[]> =>
  (
    await h.dataSource.query(
      `SELECT oid::text AS oid FROM pg_trigger WHERE tgname = 'sharepoint_sync_capture' ORDER BY tgrelid`,
    )
  ).map((r: { oid: string }) => r.oid);

describe('attach and the capture trigger', () => {
  it('captures every insert other connections commit while attach runs again and again', async () => {
    let running = true;
    let committed = 0;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      const client = new pg.Client({ connectionString: h.db.url });
      await client.connect();
      try {
        for (let i = 0; running; i++) {
          await client.query(`INSERT INTO wb_company (name, employees) VALUES ($1, $2)`, [`w${w}-${i}`, i]);
          await client.query(`INSERT INTO wb_note (body) VALUES ($1)`, [`w${w}-${i}`]);
          committed += 2;
        }
      } finally {
        await client.end();
      }
    });
    await waitFor(() => committed > 100, { message: 'writers running' });
    try {
      // Every attach either finds the trigger as it should be or replaces it (priority flips: a new definition).
      for (let attach = 0; attach < 12; attach++) {
        const priority = attach % 3 === 2 ? 'P2' : 'P0';
        await installCaptureTriggers(h.dataSource, 'sharepoint_sync', listsWith(priority));
        const before = committed;
        await waitFor(() => committed > before + 20, { message: 'more inserts between attaches' });
      }
    } finally {
      running = false;
      await Promise.all(writers);
    }
    await installCaptureTriggers(h.dataSource, 'sharepoint_sync', h.ctx.lists);
    expect(committed).toBeGreaterThan(12 * 20);
    expect(await uncaptured()).toEqual({ company: 0, note: 0 });
  });

  it('an attach with an unchanged definition rewrites nothing and waits for no lock on application tables', async () => {
    await installCaptureTriggers(h.dataSource, 'sharepoint_sync', h.ctx.lists);
    const oids = await triggerOids();
    expect(oids).toHaveLength(2);
    const blocker = new pg.Client({ connectionString: h.db.url });
    await blocker.connect();
    let installed: Promise<void> | undefined;
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE wb_company, wb_note IN ACCESS EXCLUSIVE MODE');
      let done = false;
      installed = installCaptureTriggers(h.dataSource, 'sharepoint_sync', h.ctx.lists).then(() => {
        done = true;
      });
      await waitFor(() => done, { timeoutMs: 5_000, message: 'attach while a transaction holds the tables' });
    } finally {
      await blocker.query('COMMIT').catch(() => undefined);
      await installed?.catch(() => undefined);
      await blocker.end();
    }
    expect(await triggerOids()).toEqual(oids);
  });

  it('a changed definition is installed: the new priority is captured', async () => {
    await installCaptureTriggers(h.dataSource, 'sharepoint_sync', listsWith('P3'));
    const [row] = await h.dataSource.query(`INSERT INTO wb_company (name) VALUES ('p3') RETURNING id`);
    const [queued] = await h.dataSource.query(
      `SELECT priority FROM sharepoint_sync.outbox WHERE entity = 'WbCompany' AND twenty_id = $1`,
      [row.id],
    );
    expect(queued).toEqual({ priority: 3 });
    await installCaptureTriggers(h.dataSource, 'sharepoint_sync', h.ctx.lists);
    const [again] = await h.dataSource.query(`INSERT INTO wb_company (name) VALUES ('p0') RETURNING id`);
    const [requeued] = await h.dataSource.query(
      `SELECT priority FROM sharepoint_sync.outbox WHERE entity = 'WbCompany' AND twenty_id = $1`,
      [again.id],
    );
    expect(requeued).toEqual({ priority: 0 });
  });
});
