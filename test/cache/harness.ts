import { DataSource } from 'typeorm';
import { Cache, type CacheOptions } from '../../src/cache/index.js';
import type { Logger, SyncContext, SyncEvent } from '../../src/context.js';
import type { ListSchema } from '../../src/schema/index.js';
import type { SharePointSyncOptions } from '../../src/sync/index.js';
import { createEmulator, type Emulator } from '../../src/testing/index.js';
import { Writeback } from '../../src/writeback/index.js';
import { assembleTestContext } from '../support/assemble.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

export const SITE = { hostname: 'contoso.sharepoint.com', path: '/sites/crm' };
export const SITE_REF = 'contoso.sharepoint.com:/sites/crm';

export interface CacheHarness {
  db: TestDatabase;
  dataSource: DataSource;
  emulator: Emulator;
  url: string;
  ctx: SyncContext;
  events: SyncEvent[];
  cache: Cache;
  writeback: Writeback;
  list(entity: Function): ListSchema;
  newCache(options?: Partial<CacheOptions>): Cache;
  close(): Promise<void>;
}

/**
 * Real PostgreSQL (a fresh database), the loopback emulator, provisioned lists, and the write-back
 * capture trigger installed (worker not started) so tests can prove loads never enqueue anything.
 */
export async function createCacheHarness(
  entities: Function[],
  options: {
    cache?: Partial<CacheOptions>;
    emulator?: Partial<Parameters<typeof createEmulator>[0]>;
    /** Gateway settings over the harness's (e.g. `listItemDelta: false`, a cloud without delta). */
    graph?: SharePointSyncOptions['graph'];
    logger?: Logger;
  } = {},
): Promise<CacheHarness> {
  const db = await createTestDatabase();
  const dataSource = new DataSource({ type: 'postgres', url: db.url, entities, synchronize: true });
  await dataSource.initialize();
  const emulator = createEmulator({ sites: [SITE_REF], seed: 7, ...options.emulator });
  const { url } = await emulator.listen();
  const assembled = await assembleTestContext(dataSource, {
    url,
    site: SITE,
    ...(options.graph && { graph: options.graph }),
    ...(options.logger && { logger: options.logger }),
    bootstrap: { onAttach: true, createLists: true, createColumns: true, failOnDrift: false },
  });
  const { context: ctx, events } = assembled;
  const lists = ctx.lists;
  const writeback = new Writeback(ctx, {
    enabled: false,
    batchSize: 20,
    retryAttempts: 3,
    retryDelayMs: 100,
    batchWindowSeconds: 1,
    runWorker: false,
  });
  await writeback.install();
  const newCache = (o: Partial<CacheOptions> = {}) =>
    new Cache(ctx, { lazy: true, ttlSeconds: 3600, ...options.cache, ...o });
  return {
    db,
    dataSource,
    emulator,
    url,
    ctx,
    events,
    cache: newCache(),
    writeback,
    list: (entity) => lists.find((l) => l.target === entity)!,
    newCache,
    async close() {
      await writeback.stop().catch(() => undefined);
      assembled.close();
      await dataSource.destroy().catch(() => undefined);
      await emulator.close().catch(() => undefined);
      await db.drop();
    },
  };
}
