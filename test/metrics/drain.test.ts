import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SharePointList, SharePointSync, WritebackFlushError } from '../../src/index.js';
import { createEmulator, type Emulator } from '../../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

@SharePointList({ title: 'Metered', priority: 'P1' })
@Entity('metered')
class Metered {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 50 }) name!: string;
  @Column({ type: 'integer', nullable: true }) size?: number | null;
}

const SITE = 'contoso.sharepoint.com:/sites/metrics';
let db: TestDatabase;
let emulator: Emulator;
let dataSource: DataSource;
let sync: SharePointSync;
let provider: MeterProvider;
let reader: PeriodicExportingMetricReader;

/** Sum of every data point of each instrument (histograms: their count), by name. */
async function totals(): Promise<Map<string, number>> {
  const { resourceMetrics } = await reader.collect();
  const out = new Map<string, number>();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      let sum = 0;
      for (const p of metric.dataPoints) {
        const v = p.value as number | { count: number };
        sum += typeof v === 'number' ? v : v.count;
      }
      out.set(metric.descriptor.name, sum);
    }
  }
  return out;
}

beforeAll(async () => {
  db = await createTestDatabase();
  emulator = createEmulator({ sites: [SITE] });
  const { url } = await emulator.listen();
  dataSource = new DataSource({ type: 'postgres', url: db.url, entities: [Metered], synchronize: true });
  await dataSource.initialize();
  reader = new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
    exportIntervalMillis: 3_600_000,
  });
  provider = new MeterProvider({ readers: [reader] });
  sync = await SharePointSync.attach(dataSource, {
    site: { hostname: 'contoso.sharepoint.com', path: '/sites/metrics' },
    graph: { baseUrl: `${url}/v1.0`, retry: { attempts: 3, minDelayMs: 5, maxDelayMs: 20 } },
    writeback: { runWorker: false, retryAttempts: 2, retryDelayMs: 5 },
    metrics: { meter: provider.getMeter('drain-test'), attributes: { service: 'metrics-test' } },
  });
});

afterAll(async () => {
  await sync?.close();
  await dataSource?.destroy();
  await provider?.shutdown();
  await emulator?.close();
  await db?.drop();
});

it('moves every sharepoint_sync_* meter during a drain', async () => {
  const repo = dataSource.getRepository(Metered);
  const rows = await repo.save(Array.from({ length: 30 }, (_, i) => ({ name: `m${i}`, size: i })));
  await sync.flush();

  // Pending work and an old change: the gauges see them before the drain.
  await repo.update(rows[0]!.id, { size: 100 });
  await repo.save({ name: 'doomed', size: 1 });
  const list = emulator.site(SITE).list('Metered')!;
  // A person edits the same record in SharePoint: our PATCH carries a stale eTag → 412 → conflict.
  const item = list.items().find((i) => i.fields.Name === 'm0')!;
  list.updateItem(item.id, { Size: 7 });
  await repo.update(rows[1]!.id, { size: 101 });
  const before = await totals();
  expect(before.get('sharepoint_sync_pending')).toBe(3);
  expect(before.get('sharepoint_sync_lag_seconds')).toBeGreaterThan(0);

  // The create of 'doomed' fails with 500 on every attempt (dead letter); one envelope is throttled once.
  emulator.faults.inject({ method: 'POST', path: /\/items$/, scope: 'inner', status: 500 });
  emulator.faults.inject({ path: '/$batch', status: 429, retryAfterSeconds: 1, count: 1 });
  const error = await sync.flush().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WritebackFlushError);
  emulator.faults.clear();

  const after = await totals();
  for (const name of [
    'sharepoint_sync_throughput',
    'sharepoint_sync_latency',
    'sharepoint_sync_batch_size',
    'sharepoint_sync_resource_units',
    'sharepoint_sync_errors',
    'sharepoint_sync_dead_lettered',
    'sharepoint_sync_conflicts',
    'sharepoint_sync_throttled',
    'sharepoint_sync_dead_letters',
  ]) {
    expect(after.get(name) ?? 0, name).toBeGreaterThan(before.get(name) ?? 0);
  }
  expect(after.get('sharepoint_sync_pending')).toBe(0);
  expect(after.get('sharepoint_sync_lag_seconds')).toBe(0);
  const status = await sync.status();
  expect(status.deadLetters).toBe(1);
  expect(status.totals.conflicts).toBeGreaterThanOrEqual(1);
});
