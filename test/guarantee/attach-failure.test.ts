import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { SharePointList, SharePointSync } from 'typeorm-sharepoint';
import { createEmulator } from 'typeorm-sharepoint/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKER_LOCK_CLASS } from '../../src/store/sql.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { waitFor } from '../support/wait.js';

// An attach that fails half-way (here: the eager first load) leaves nothing running behind the caller.

@SharePointList({ title: 'Failing Loads' })
@Entity('failing_load')
class FailingLoad {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 20 }) name!: string;
}

let db: TestDatabase;
let dataSource: DataSource;
const emulator = createEmulator({ sites: ['contoso.sharepoint.com:/sites/failing'] });

beforeAll(async () => {
  db = await createTestDatabase();
  dataSource = await new DataSource({
    type: 'postgres',
    url: db.url,
    entities: [FailingLoad],
    synchronize: true,
  }).initialize();
});
afterAll(async () => {
  await emulator.close();
  if (dataSource?.isInitialized) await dataSource.destroy();
  await db?.drop();
});

describe('attach that fails', () => {
  it('with cache.lazy false and a load that fails: rejects, and its worker is stopped (lock released)', async () => {
    const { url } = await emulator.listen();
    emulator.faults.inject({ path: /\/items\/delta$/, status: 500 });
    const attached = SharePointSync.attach(dataSource, {
      site: { hostname: 'contoso.sharepoint.com', path: '/sites/failing' },
      graph: { baseUrl: `${url}/v1.0`, retry: { attempts: 1 } },
      cache: { lazy: false },
      inbound: { pollIntervalSeconds: 0 },
    });
    await expect(attached).rejects.toThrow();
    await waitFor(
      async () => {
        const [row] = await dataSource.query(
          // pg_locks is the whole server's: count only this test's database.
          `SELECT count(*)::int AS n FROM pg_locks
            WHERE locktype = 'advisory' AND classid = $1
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
          [WORKER_LOCK_CLASS],
        );
        return row.n === 0;
      },
      { timeoutMs: 10_000, message: 'the failed attach to release its worker lock' },
    );
  });
});
