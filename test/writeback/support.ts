import { DataSource, type EntitySchema } from 'typeorm';
import type { SyncContext, SyncEvent } from '../../src/context.js';
import { readListSchemas, rowToFields } from '../../src/schema/index.js';
import { createEmulator, type Emulator } from '../../src/testing/index.js';
import { Writeback, type WritebackOptions } from '../../src/writeback/index.js';
import { sameValue } from '../../src/writeback/records.js';
import { assembleTestContext } from '../support/assemble.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

export const SITE = 'contoso.sharepoint.com:/sites/crm';

export interface Harness {
  db: TestDatabase;
  dataSource: DataSource;
  emulator: Emulator;
  url: string;
  ctx: SyncContext;
  events: SyncEvent[];
  writeback(options?: Partial<WritebackOptions>, dataSource?: DataSource): Writeback;
  /** Items of the list of `entityName` in the emulator, keyed by TwentyId. */
  items(entityName: string): Map<string, Record<string, unknown>>;
  close(): Promise<void>;
}

export const FAST: WritebackOptions = {
  enabled: true,
  batchSize: 20,
  retryAttempts: 8,
  retryDelayMs: 5,
  batchWindowSeconds: 10,
  pollIntervalMs: 50,
  runWorker: false,
};

/** Fresh database + emulator + lists created for every entity, and a context the write-back runs on. */
export async function createHarness(
  entities: (Function | EntitySchema)[],
  { seed = 1, latencyMs = 0 }: { seed?: number; latencyMs?: number } = {},
): Promise<Harness> {
  const db = await createTestDatabase();
  const dataSource = new DataSource({
    type: 'postgres',
    url: db.url,
    entities,
    synchronize: true,
    poolSize: 20,
  });
  await dataSource.initialize();
  const emulator = createEmulator({ sites: [SITE], seed, latencyMs });
  const server = await emulator.listen();
  // The lists exist before attach (created through the emulator's back door, columns as declared): the
  // assembler finds them and bootstraps nothing.
  const site = emulator.site(SITE);
  for (const list of readListSchemas(dataSource)) {
    site.createList({
      displayName: list.title,
      columns: [list.idField.definition, ...list.fields.map((f) => f.definition)] as Record<
        string,
        unknown
      >[],
    });
  }
  const assembled = await assembleTestContext(dataSource, {
    url: server.url,
    site: { hostname: 'contoso.sharepoint.com', path: '/sites/crm' },
    graph: {
      retry: { attempts: 3, minDelayMs: 5, maxDelayMs: 50 },
      budget: { resourceUnitsPerMinute: 10_000_000 },
    },
    bootstrap: { onAttach: false },
  });
  emulator.log.reset();
  const { context: ctx, events } = assembled;
  const { lists, listIds } = ctx;
  const started: Writeback[] = [];
  return {
    db,
    dataSource,
    emulator,
    url: server.url,
    ctx,
    events,
    writeback(options = {}, other) {
      const wb = new Writeback(other ? { ...ctx, dataSource: other } : ctx, { ...FAST, ...options });
      started.push(wb);
      return wb;
    },
    items(entityName) {
      const list = lists.find((l) => l.entityName === entityName)!;
      const out = new Map<string, Record<string, unknown>>();
      for (const item of site.list(listIds.get(entityName)!)!.items()) {
        out.set(String(item.fields[list.idField.name]), {
          ...item.fields,
          __id: item.id,
          __count: ((out.get(String(item.fields[list.idField.name]))?.__count as number) ?? 0) + 1,
        });
      }
      return out;
    },
    async close() {
      for (const wb of started) await wb.stop();
      assembled.close();
      await dataSource.destroy();
      await emulator.close();
      await db.drop();
    },
  };
}

/**
 * SharePoint vs PostgreSQL for one entity: records missing in SharePoint, items with no row, TwentyIds held
 * by more than one item, and records whose field values differ.
 */
export async function compareWithSharePoint(
  h: Harness,
  entityName: string,
): Promise<{ rows: number; missing: string[]; extra: string[]; duplicates: string[]; different: string[] }> {
  const list = h.ctx.lists.find((l) => l.entityName === entityName)!;
  const site = h.emulator.site(SITE);
  const items = site.list(h.ctx.listIds.get(entityName)!)!.items();
  const byId = new Map<string, Record<string, unknown>[]>();
  for (const item of items) {
    const id = String(item.fields[list.idField.name]);
    byId.set(id, [...(byId.get(id) ?? []), item.fields]);
  }
  const table = await h.dataSource.query(`SELECT * FROM ${list.tablePath}`);
  const result = {
    rows: table.length,
    missing: [] as string[],
    extra: [] as string[],
    duplicates: [] as string[],
    different: [] as string[],
  };
  const seen = new Set<string>();
  for (const row of table as Record<string, unknown>[]) {
    const id = String(row[list.primaryKey]);
    seen.add(id);
    const found = byId.get(id);
    if (!found) {
      result.missing.push(id);
      continue;
    }
    if (found.length > 1) result.duplicates.push(id);
    const expected = rowToFields(list, row) as Record<string, unknown>;
    if (!Object.entries(expected).every(([k, v]) => sameValue(found[0]![k], v))) result.different.push(id);
  }
  for (const [id, found] of byId) {
    if (!seen.has(id)) result.extra.push(id);
    else if (found.length > 1 && !result.duplicates.includes(id)) result.duplicates.push(id);
  }
  return result;
}
