import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SharePointList, SharePointSync } from '../../src/index.js';
import {
  capturedTables,
  captureTriggerName,
  installCaptureTriggers,
  notifyChannel,
} from '../../src/store/capture.js';
import { createEmulator, type Emulator } from '../../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { waitFor } from '../support/wait.js';

// 63 bytes: PostgreSQL's longest identifier, as a long workspace id can produce.
const LONG_SCHEMA = `ws_${'a'.repeat(59)}z`;
const LONG_TABLE = `long_table_${'n'.repeat(52)}`;

@SharePointList({ title: 'LongNamed', priority: 'P0' })
@Entity(LONG_TABLE)
class LongNamed {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 100 }) name!: string;
}

const SITE = 'contoso.sharepoint.com:/sites/long';
const bytes = (s: string) => Buffer.byteLength(s);

describe('identifiers derived from schema names', () => {
  it('fit in 63 bytes, stay as they were when they fit, and differ for different schemas', () => {
    expect(LONG_SCHEMA).toHaveLength(63);
    expect(LONG_TABLE).toHaveLength(63);
    // Names that always fitted keep their old value (existing installations).
    expect(notifyChannel('sharepoint_sync')).toBe('sharepoint_sync_outbox');
    expect(captureTriggerName('sharepoint_sync')).toBe('sharepoint_sync_capture');
    const schemas = [
      LONG_SCHEMA,
      `ws_${'a'.repeat(59)}y`,
      `ws_${'a'.repeat(50)}`,
      `ws_${'a'.repeat(51)}`,
      `ws_${'a'.repeat(56)}`,
      `ws_${'a'.repeat(57)}`,
      'wörkspace_'.repeat(6),
      '日本'.repeat(10),
    ];
    for (const make of [notifyChannel, captureTriggerName]) {
      const names = schemas.map(make);
      for (const name of names) expect(bytes(name)).toBeLessThanOrEqual(63);
      expect(new Set(names).size).toBe(schemas.length);
      // stable: the same schema always gives the same name
      expect(schemas.map(make)).toEqual(names);
    }
    expect(notifyChannel(LONG_SCHEMA)).not.toBe(captureTriggerName(LONG_SCHEMA));
  });
});

describe('a 63-byte schema name and a 63-byte table name', () => {
  let db: TestDatabase;
  let emulator: Emulator;
  let dataSource: DataSource;
  let sync: SharePointSync;

  beforeAll(async () => {
    db = await createTestDatabase();
    emulator = createEmulator({ sites: [SITE] });
    const { url } = await emulator.listen();
    dataSource = new DataSource({ type: 'postgres', url: db.url, entities: [LongNamed], synchronize: true });
    await dataSource.initialize();
    sync = await SharePointSync.attach(dataSource, {
      site: { hostname: 'contoso.sharepoint.com', path: '/sites/long' },
      schema: LONG_SCHEMA,
      graph: { baseUrl: `${url}/v1.0`, retry: { attempts: 3, minDelayMs: 5, maxDelayMs: 20 } },
      // No poll to speak of: the change must arrive through the trigger's NOTIFY and the worker's LISTEN.
      writeback: { pollIntervalMs: 120_000, retryDelayMs: 5 },
    });
  });

  afterAll(async () => {
    await sync?.close();
    await dataSource?.destroy();
    await emulator?.close();
    await db?.drop();
  });

  it('save() works, the trigger is found under its name, and the change reaches SharePoint via NOTIFY', async () => {
    expect(await capturedTables(dataSource, LONG_SCHEMA)).toEqual([LONG_TABLE]);
    const saved = await dataSource.getRepository(LongNamed).save({ name: 'far away' });
    const listId = sync.context.listIds.get('LongNamed')!;
    const list = emulator.site(SITE).list(listId)!;
    const item = await waitFor(() => list.items().find((i) => i.fields.TwentyId === saved.id), {
      timeoutMs: 20_000,
      message: 'the item in SharePoint',
    });
    expect(item.fields.Name ?? item.fields.name ?? item.fields.Title).toBe('far away');
  });

  it('replaces the trigger PostgreSQL had truncated to 63 bytes under the old naming rule', async () => {
    const legacy = `${LONG_SCHEMA}_capture`.slice(0, 63);
    await dataSource.query(
      `CREATE TRIGGER "${legacy}" AFTER INSERT OR UPDATE OR DELETE ON "${LONG_TABLE}"
         FOR EACH ROW EXECUTE FUNCTION "${LONG_SCHEMA}".capture_change('LongNamed', 'id', '0')`,
    );
    await installCaptureTriggers(dataSource, LONG_SCHEMA, [...sync.lists]);
    const names = await dataSource.query(
      `SELECT tgname FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal`,
      [`"${LONG_TABLE}"`],
    );
    expect(names).toEqual([{ tgname: captureTriggerName(LONG_SCHEMA) }]);
  });
});
