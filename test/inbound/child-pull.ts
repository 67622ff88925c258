// Pulls one list in its own process, page by page, until killed (the crash test kills it mid-pull).
//   node --import tsx test/inbound/child-pull.ts    (PULL_CHILD: {"databaseUrl","graphUrl"})
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { SharePointSync } from '../../src/index.js';
import { Pulled } from './fixtures.js';

const config = JSON.parse(process.env.PULL_CHILD ?? '{}') as { databaseUrl: string; graphUrl: string };
const dataSource = new DataSource({ type: 'postgres', url: config.databaseUrl, entities: [Pulled] });
await dataSource.initialize();
const sync = await SharePointSync.attach(dataSource, {
  site: { hostname: 'contoso.sharepoint.com', path: '/sites/pull' },
  graph: { baseUrl: config.graphUrl, budget: { resourceUnitsPerMinute: 100_000_000 } },
  writeback: { runWorker: false },
  inbound: { pollIntervalSeconds: 0 },
  cache: { pageSize: 50 },
});
process.stdout.write('attached\n');
await sync.pull(Pulled);
process.stdout.write('pulled\n');
