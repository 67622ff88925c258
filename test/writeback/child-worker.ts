// A write-back worker in its own process, for the crash and multi-process tests:
//   node --import tsx test/writeback/child-worker.ts   (configuration in WB_CHILD as JSON)
// It runs until killed. tsx emits no decorator metadata, hence the explicit column types in fixtures.ts.
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { silentLogger } from '../../src/context.js';
import { GraphClient } from '../../src/graph/index.js';
import { readListSchemas } from '../../src/schema/index.js';
import { Writeback } from '../../src/writeback/index.js';
import { WRITEBACK_ENTITIES } from './fixtures.js';

const config = JSON.parse(process.env.WB_CHILD ?? '{}') as {
  databaseUrl: string;
  graphUrl: string;
  siteId: string;
  listIds: Record<string, string>;
};

const dataSource = new DataSource({
  type: 'postgres',
  url: config.databaseUrl,
  entities: WRITEBACK_ENTITIES,
  poolSize: 10,
});
await dataSource.initialize();
const writeback = new Writeback(
  {
    dataSource,
    schema: 'sharepoint_sync',
    graph: new GraphClient({
      baseUrl: config.graphUrl,
      retry: { attempts: 3, minDelayMs: 5, maxDelayMs: 50 },
      timeoutMs: 2000,
    }),
    site: { id: config.siteId, hostname: 'contoso.sharepoint.com', path: '/sites/crm' },
    lists: readListSchemas(dataSource),
    listIds: new Map(Object.entries(config.listIds)),
    logger: silentLogger,
    emit: () => {},
  },
  {
    enabled: true,
    batchSize: 20,
    retryAttempts: 20,
    retryDelayMs: 5,
    batchWindowSeconds: 0.001 as number,
    pollIntervalMs: 20,
  },
);
writeback.start();
process.stdout.write('ready\n');
