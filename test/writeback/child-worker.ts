// A write-back worker in its own process, for the crash and multi-process tests:
//   node --import tsx test/writeback/child-worker.ts   (configuration in WB_CHILD as JSON)
// It runs until killed. tsx emits no decorator metadata, hence the explicit column types in fixtures.ts.
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { Writeback } from '../../src/writeback/index.js';
import { assembleTestContext } from '../support/assemble.js';
import { WRITEBACK_ENTITIES } from './fixtures.js';

const config = JSON.parse(process.env.WB_CHILD ?? '{}') as {
  databaseUrl: string;
  /** The emulator's root (the lists exist: this process attaches as another instance of the app would). */
  url: string;
};

const dataSource = new DataSource({
  type: 'postgres',
  url: config.databaseUrl,
  entities: WRITEBACK_ENTITIES,
  poolSize: 10,
});
await dataSource.initialize();
const { context } = await assembleTestContext(dataSource, {
  url: config.url,
  site: { hostname: 'contoso.sharepoint.com', path: '/sites/crm' },
  graph: { retry: { attempts: 3, minDelayMs: 5, maxDelayMs: 50 }, timeoutMs: 2000 },
  bootstrap: { onAttach: false },
});
const writeback = new Writeback(context, {
  enabled: true,
  batchSize: 20,
  retryAttempts: 20,
  retryDelayMs: 5,
  batchWindowSeconds: 0.001 as number,
  pollIntervalMs: 20,
});
writeback.start();
process.stdout.write('ready\n');
