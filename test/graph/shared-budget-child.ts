// One application process of the shared-budget test: attaches to the shared database (its budget then comes
// from the ledger there) and GETs one item as fast as its budget allows, 4 at a time, until "stop" on stdin.
//   node --import tsx test/graph/shared-budget-child.ts   (BUDGET_CHILD: {"databaseUrl","graphUrl","budget","path"})
import 'reflect-metadata';
import readline from 'node:readline';
import { DataSource } from 'typeorm';
import type { GraphClient } from '../../src/graph/index.js';
import { SharePointSync } from '../../src/index.js';
import { Budgeted, SITE } from './shared-budget-fixtures.js';

const config = JSON.parse(process.env.BUDGET_CHILD ?? '{}') as {
  databaseUrl: string;
  graphUrl: string;
  budget: number;
  path: string;
};
const dataSource = new DataSource({ type: 'postgres', url: config.databaseUrl, entities: [Budgeted] });
await dataSource.initialize();
const sync = await SharePointSync.attach(dataSource, {
  site: SITE,
  graph: {
    baseUrl: config.graphUrl,
    budget: { resourceUnitsPerMinute: config.budget },
    retry: { attempts: 10 },
  },
  bootstrap: { onAttach: false },
  writeback: { runWorker: false },
  inbound: { pollIntervalSeconds: 0 },
});
const graph = (sync as unknown as { context: { graph: GraphClient } }).context.graph;
let stopping = false;
let errors = 0;
const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line === 'stop') stopping = true;
});
process.stdout.write('attached\n');
await Promise.all(
  Array.from({ length: 4 }, async () => {
    while (!stopping) await graph.get(config.path).catch(() => errors++);
  }),
);
const status = await sync.status();
await sync.close();
await dataSource.destroy();
process.stdout.write(`${JSON.stringify({ errors, budget: status.budget })}\n`);
lines.close();
