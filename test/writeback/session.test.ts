import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerSession } from '../../src/writeback/session.js';
import { WRITEBACK_ENTITIES } from './fixtures.js';
import { createHarness, type Harness } from './support.js';

interface QueueingClient {
  _queryQueue: unknown[];
  _activeQuery: unknown;
  query: (...args: unknown[]) => unknown;
}

let h: Harness;
beforeAll(async () => {
  h = await createHarness(WRITEBACK_ENTITIES);
});
afterAll(async () => {
  await h?.close();
});

describe('the write-back worker session', () => {
  it('answers many check() calls at once with one probe: its connection is never given a second query while one runs', async () => {
    const session = new WorkerSession(h.ctx, () => undefined);
    try {
      await session.ensure();
      // The session's own client: the one backend that holds its LISTEN.
      const [listener] = await h.dataSource.query(
        `SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND datname = current_database()`,
      );
      expect(listener).toBeDefined();
      // Watch every pg client's queue: pg@8 queues (and warns), pg@9 refuses, a query given to a busy client.
      const pg = await import('pg');
      const Client = pg.default.Client.prototype as unknown as QueueingClient;
      const original = Client.query;
      let queuedBehindAnother = 0;
      Client.query = function (this: QueueingClient, ...args: unknown[]) {
        if (this._activeQuery || this._queryQueue.length > 0) queuedBehindAnother++;
        return original.apply(this, args);
      };
      try {
        const before = Date.now();
        await Promise.all(Array.from({ length: 8 }, () => session.check()));
        expect(Date.now() - before).toBeLessThan(5_000);
        // Each check() still probes: after the shared one settled, a new call runs a new probe.
        await session.check();
      } finally {
        Client.query = original;
      }
      expect(queuedBehindAnother).toBe(0);
      // The session is still whole: the same id, and its lock connection is alive.
      const id = await session.ensure();
      const [lock] = await h.dataSource.query(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = $1`,
        [id],
      );
      expect(lock.n).toBe(1);
    } finally {
      await session.close();
    }
  });
});
