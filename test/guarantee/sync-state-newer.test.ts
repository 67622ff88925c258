import pg from 'pg';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execute } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrations.js';
import { upsertSyncState } from '../../src/store/sql.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

// Found by a review of issue 14: a pull applies a person's edit (eTag version 6) while our own send's answer
// (version 5) is on its way; settling the send must not write version 5 back over version 6, or the next local
// edit meets a 412 that looks like a conflict and the policy may drop it.

let db: TestDatabase;
let dataSource: DataSource;
let client: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase();
  dataSource = await new DataSource({ type: 'postgres', url: db.url }).initialize();
  await migrate(dataSource, 'sharepoint_sync');
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  if (dataSource?.isInitialized) await dataSource.destroy();
  await db?.drop();
});

const settle = (item: string, etag: string, name: string) =>
  execute(dataSource, upsertSyncState('sharepoint_sync'), [
    ['Company'],
    ['t1'],
    ['list-1'],
    [item],
    [etag],
    [JSON.stringify({ Name: name })],
    [`hash-${name}`],
  ]);

const stored = async () =>
  (
    await client.query(
      `SELECT item_id, etag, fields->>'Name' AS name, content_hash, pending FROM sharepoint_sync.sync_state WHERE twenty_id = 't1'`,
    )
  ).rows[0];

describe('sync_state never goes back in time', () => {
  it('an older eTag of the same item does not replace a newer one; pending is still cleared', async () => {
    await settle('7', '"{ABC},6"', 'by a person');
    await client.query(`UPDATE sharepoint_sync.sync_state SET pending = '[{"Name":"ours"}]'::jsonb`);
    await settle('7', '"{ABC},5"', 'ours');
    expect(await stored()).toEqual({
      item_id: '7',
      etag: '"{ABC},6"',
      name: 'by a person',
      content_hash: 'hash-by a person',
      pending: null,
    });
  });

  it('a newer eTag replaces it, and so does any eTag of another item (a create adopted again)', async () => {
    await settle('7', '"{ABC},8"', 'newer');
    expect(await stored()).toMatchObject({ etag: '"{ABC},8"', name: 'newer' });
    await settle('9', '"{DEF},1"', 'other item');
    expect(await stored()).toMatchObject({ item_id: '9', etag: '"{DEF},1"', name: 'other item' });
  });
});
