import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { Column, type DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SharePointList, type SharePointSync, WritebackFlushError } from '../../src/index.js';
import { type AttachedSetup, createAttachedSetup } from '../support/attached.js';

@SharePointList({ title: 'Accounts', priority: 'P0', conflictResolution: 'manualReview' })
@Entity('gauge_account')
class Account {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 50 }) name!: string;
  @Column({ type: 'integer', nullable: true }) size?: number | null;
}

@SharePointList({ title: 'Contacts', priority: 'P2' })
@Entity('gauge_contact')
class Contact {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 50 }) name!: string;
  @Column({ type: 'integer', nullable: true }) size?: number | null;
}

const SITE = 'contoso.sharepoint.com:/sites/gauges';
let env: AttachedSetup;
let dataSource: DataSource;
let sync: SharePointSync;
let provider: MeterProvider;
let reader: PeriodicExportingMetricReader;

type Point = { value: number; attributes: Record<string, unknown> };

/** Every data point of each instrument, by name (histograms: their count). */
async function collect(): Promise<Map<string, Point[]>> {
  const { resourceMetrics } = await reader.collect();
  const out = new Map<string, Point[]>();
  for (const scope of resourceMetrics.scopeMetrics)
    for (const metric of scope.metrics)
      out.set(
        metric.descriptor.name,
        metric.dataPoints.map((p) => {
          const v = p.value as number | { count: number };
          return {
            value: typeof v === 'number' ? v : v.count,
            attributes: p.attributes as Record<string, unknown>,
          };
        }),
      );
  return out;
}

/** The points of one gauge as `entity priority → value`. */
const byList = (points: Point[] | undefined) =>
  Object.fromEntries((points ?? []).map((p) => [`${p.attributes.entity} ${p.attributes.priority}`, p.value]));
const sum = (points: Point[] | undefined) => (points ?? []).reduce((n, p) => n + p.value, 0);

beforeAll(async () => {
  reader = new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
    exportIntervalMillis: 3_600_000,
  });
  provider = new MeterProvider({ readers: [reader] });
  env = await createAttachedSetup({
    site: SITE,
    entities: [Account, Contact],
    options: {
      workspace: 'acme',
      writeback: { runWorker: false, retryAttempts: 2, retryDelayMs: 5 },
      graph: { retry: { attempts: 2, minDelayMs: 5, maxDelayMs: 20 } },
      metrics: { meter: provider.getMeter('list-gauges-test'), attributes: { service: 'crm' } },
    },
  });
  ({ dataSource, sync } = await env.attach());
});

afterAll(async () => {
  await env?.close();
  await provider?.shutdown();
});

it('reports the gauges per list and priority, summing to status(), with the last load and the budget limits', async () => {
  // Nothing waits yet: every attached list has its row at its own priority, at zero.
  const empty = await collect();
  expect(byList(empty.get('sharepoint_sync_pending'))).toEqual({ 'Account P0': 0, 'Contact P2': 0 });
  expect(byList(empty.get('sharepoint_sync_open_conflicts'))).toEqual({ 'Account P0': 0, 'Contact P2': 0 });
  expect(empty.get('sharepoint_sync_last_refresh_timestamp_seconds') ?? []).toEqual([]);

  const accounts = dataSource.getRepository(Account);
  const contacts = dataSource.getRepository(Contact);
  const list = (title: string) => env.emulator.site(SITE).list(title)!;

  // A dead letter of Contacts: its create fails on every attempt.
  await contacts.save({ name: 'doomed', size: 1 });
  env.emulator.faults.inject({ method: 'POST', path: /\/items$/, scope: 'inner', status: 500 });
  await expect(sync.flush()).rejects.toBeInstanceOf(WritebackFlushError);
  env.emulator.faults.clear();

  // An open conflict of Accounts (manualReview): SharePoint and the application changed one record; the
  // local change stays held in the outbox (pending) until a person decides.
  const account = await accounts.save({ name: 'acme', size: 1 });
  await accounts.save({ name: 'other', size: 2 });
  await sync.flush();
  const item = list('Accounts')
    .items()
    .find((i) => i.fields.Name === 'acme')!;
  list('Accounts').updateItem(item.id, { Size: 99 });
  await accounts.update(account.id, { size: 3 });
  await sync.flush();
  expect(await sync.conflicts.list({ open: true })).toHaveLength(1);

  // Contacts is loaded (its last load is stored), then three changes wait for its P2 window.
  const loadStart = Date.now() / 1000;
  await sync.ensureLoaded(Contact);
  const loadEnd = Date.now() / 1000;
  await contacts.save([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);

  const points = await collect();
  const status = await sync.status();
  const pending = points.get('sharepoint_sync_pending');
  expect(byList(pending)).toEqual({ 'Account P0': 1, 'Contact P2': 3 });
  expect(byList(points.get('sharepoint_sync_dead_letters'))).toEqual({ 'Account P0': 0, 'Contact P2': 1 });
  expect(byList(points.get('sharepoint_sync_open_conflicts'))).toEqual({ 'Account P0': 1, 'Contact P2': 0 });
  const lag = byList(points.get('sharepoint_sync_lag_seconds'));
  expect(lag['Account P0']).toBeGreaterThan(0);
  expect(lag['Contact P2']).toBeGreaterThan(0);

  // The process totals are the sums (the lag: the largest), as status() gives them.
  expect(sum(pending)).toBe(status.pending);
  for (const priority of ['P0', 'P1', 'P2', 'P3'] as const)
    expect(sum(pending?.filter((p) => p.attributes.priority === priority)), priority).toBe(
      status.pendingByPriority[priority],
    );
  expect(sum(points.get('sharepoint_sync_dead_letters'))).toBe(status.deadLetters);
  expect(sum(points.get('sharepoint_sync_open_conflicts'))).toBe(status.openConflicts);
  expect(Math.max(...Object.values(lag))).toBeLessThanOrEqual(status.lagSeconds);
  expect(Math.max(...Object.values(lag))).toBeGreaterThan(status.lagSeconds - 5);

  // Every point carries the instance's attributes (the workspace and the application's) next to the list's.
  for (const name of [
    'sharepoint_sync_pending',
    'sharepoint_sync_lag_seconds',
    'sharepoint_sync_dead_letters',
    'sharepoint_sync_open_conflicts',
  ])
    for (const p of points.get(name) ?? [])
      expect(Object.keys(p.attributes).sort(), name).toEqual(['entity', 'priority', 'service', 'workspace']);

  // The last load or pull of the list that was loaded; none for the list never loaded.
  const refreshed = points.get('sharepoint_sync_last_refresh_timestamp_seconds') ?? [];
  expect(refreshed.map((p) => p.attributes)).toEqual([
    { service: 'crm', workspace: 'acme', entity: 'Contact', priority: 'P2' },
  ]);
  expect(refreshed[0]!.value).toBeGreaterThanOrEqual(loadStart - 1);
  expect(refreshed[0]!.value).toBeLessThanOrEqual(loadEnd + 1);
  const loadedAt = status.lists.find((l) => l.entity === 'Contact')?.loadedAt;
  expect(refreshed[0]!.value).toBeCloseTo(Date.parse(loadedAt!) / 1000, 2);

  // The counters that name a list carry its priority too.
  const sent = points.get('sharepoint_sync_throughput') ?? [];
  expect(sent.length).toBeGreaterThan(0);
  for (const p of sent)
    expect(p.attributes.priority, String(p.attributes.entity)).toBe(
      p.attributes.entity === 'Account' ? 'P0' : 'P2',
    );
  expect(
    (points.get('sharepoint_sync_dead_lettered') ?? []).map((p) => [
      p.attributes.entity,
      p.attributes.priority,
    ]),
  ).toEqual([['Contact', 'P2']]);

  // The budget's limits next to what is used.
  expect(points.get('sharepoint_sync_budget_limit_minute')?.[0]?.value).toBe(
    status.budget?.resourceUnitsPerMinute,
  );
  expect(points.get('sharepoint_sync_budget_limit_day')?.[0]?.value).toBe(status.budget?.resourceUnitsPerDay);
  expect(points.get('sharepoint_sync_budget_used_today')?.[0]?.value).toBeGreaterThan(0);
});
