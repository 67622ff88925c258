// One application process of bench:scale: attaches to the shared database, writes its share of the changes
// (its own writers), and lets its own write-back worker send them. Budget: the shared ledger (`shared`) or the
// old per-process rolling window (`legacy`). Reports over IPC; stops on "stop".
//   node --import tsx bench/scale/worker.ts   (SCALE_WORKER: JSON, see Config)
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { SharePointSync } from '../../src/index.js';
import { ScaleCompany, SITE } from './entity.js';
import { LegacyWindowLimiter } from './legacy-limiter.js';

interface Config {
  slot: number;
  databaseUrl: string;
  graphUrl: string;
  changes: number;
  writers: number;
  mode: 'shared' | 'legacy';
  budget: number;
}

const config = JSON.parse(process.env.SCALE_WORKER ?? '{}') as Config;
const send = (message: Record<string, unknown>) => process.send?.({ slot: config.slot, ...message });

const dataSource = new DataSource({
  type: 'postgres',
  url: config.databaseUrl,
  entities: [ScaleCompany],
  poolSize: 6,
  extra: { application_name: `scale-${config.mode}-${config.slot}` },
});
await dataSource.initialize();
let throttled = 0;
const sync = await SharePointSync.attach(dataSource, {
  site: SITE,
  graph: {
    baseUrl: config.graphUrl,
    budget: { resourceUnitsPerMinute: config.budget, shared: config.mode === 'shared' },
    ...(config.mode === 'legacy'
      ? {
          limiter: new LegacyWindowLimiter({
            resourceUnitsPerWindow: config.budget,
            windowMs: 60_000,
            slowDownBelowRatio: 0.2,
          }),
        }
      : {}),
    retry: { attempts: 20, maxDelayMs: 60_000 },
    onRequest: (e) => {
      if (e.throttled) throttled += 1;
    },
  },
  bootstrap: { onAttach: false },
  inbound: { pollIntervalSeconds: 0 },
  writeback: { batchWindowSeconds: 1, pollIntervalMs: 200, retryAttempts: 50, retryDelayMs: 1000 },
});
send({ type: 'attached' });

// The writers: rows in chunks of 100, each row captured into the shared outbox.
const repository = dataSource.getRepository(ScaleCompany);
let next = 0;
await Promise.all(
  Array.from({ length: config.writers }, async () => {
    while (next < config.changes) {
      const start = next;
      next = Math.min(config.changes, next + 100);
      const rows = [];
      for (let i = start; i < next; i++)
        rows.push({ id: randomUUID(), name: `w${config.slot}-${i}`, employees: i % 1000 });
      await repository.insert(rows);
    }
  }),
);
send({ type: 'written', count: config.changes });

process.on('message', async (message) => {
  if (message !== 'stop') return;
  const status = await sync.status();
  // A worker waiting out a Retry-After may hold close() up: the run is over, 20 s at most.
  await Promise.race([
    sync.close().then(() => dataSource.destroy()),
    new Promise((r) => setTimeout(r, 20_000)),
  ]);
  send({ type: 'stopped', throttled, totals: status.totals, budget: status.budget });
  process.exit(0);
});
