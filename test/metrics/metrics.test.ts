import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { type ListGaugeRow, listFiguresFromRows, SyncMetrics } from '../../src/metrics/index.js';

const LISTS = [
  { entityName: 'Company', priority: 'P1' as const },
  { entityName: 'Person', priority: 'P3' as const },
];

async function collect(provider: MeterProvider, reader: PeriodicExportingMetricReader) {
  const { resourceMetrics } = await reader.collect();
  const points = new Map<string, { value: unknown; attributes: Record<string, unknown> }[]>();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      points.set(
        metric.descriptor.name,
        metric.dataPoints.map((p) => ({
          value: p.value,
          attributes: p.attributes as Record<string, unknown>,
        })),
      );
    }
  }
  void provider;
  return points;
}

describe('SyncMetrics', () => {
  const providers: MeterProvider[] = [];
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.shutdown()));
  });

  function setup(attributes: Record<string, string> = {}) {
    const reader = new PeriodicExportingMetricReader({
      exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
      exportIntervalMillis: 3_600_000,
    });
    const provider = new MeterProvider({ readers: [reader] });
    providers.push(provider);
    const stored = { pending: 7, lagSeconds: 12.5, deadLetters: 2, openConflicts: 1 };
    // The same figures per list and priority: 5 + 2 pending, the oldest 12.5 s, 2 dead letters, 1 conflict.
    const rows: ListGaugeRow[] = [
      { kind: 'outbox', entity: 'Company', priority: 1, n: 5, seconds: 12.5 },
      { kind: 'outbox', entity: 'Person', priority: 3, n: 2, seconds: 3 },
      { kind: 'dead_letters', entity: 'Company', priority: 1, n: 2, seconds: null },
      { kind: 'conflicts', entity: 'Person', priority: null, n: 1, seconds: null },
      { kind: 'cache_state', entity: 'Company', priority: null, n: null, seconds: 1_750_000_000 },
    ];
    const metrics = new SyncMetrics({
      meter: provider.getMeter('test'),
      attributes,
      readStoredFigures: async () => stored,
      readListFigures: async () => listFiguresFromRows(rows, LISTS),
      listPriority: (entity) => LISTS.find((l) => l.entityName === entity)?.priority,
      readBudget: async () => ({
        resourceUnitsPerMinute: 1200,
        resourceUnitsPerDay: 1_200_000,
        usedThisMinute: 30,
        usedToday: 500,
        remainingToday: 1_199_500,
        throttled: 1,
      }),
    });
    return { reader, provider, metrics, stored };
  }

  it('turns events and requests into the documented meters, with the instance and list attributes', async () => {
    const { reader, provider, metrics, stored } = setup({ workspace: 'acme' });
    metrics.onEvent({ type: 'writeback.batch', size: 20 });
    metrics.onEvent({
      type: 'writeback.sent',
      entity: 'Company',
      op: 'create',
      count: 3,
      latencyMs: [10, 20, 30],
    });
    metrics.onEvent({ type: 'writeback.retry', entity: 'Company', twentyId: 'a', error: '503', attempt: 1 });
    metrics.onEvent({ type: 'writeback.deadLetter', entity: 'Company', twentyId: 'b', error: '400' });
    metrics.onEvent({
      type: 'conflict',
      entity: 'Person',
      twentyId: 'c',
      policy: 'sharePointPriority',
      resolution: 'sharepoint',
    });
    metrics.onRequest({ status: 200, resourceUnits: 2, throttled: false });
    metrics.onRequest({ status: 429, resourceUnits: 0, throttled: true });

    const points = await collect(provider, reader);
    const value = (name: string) => points.get(name)?.[0]?.value;
    expect(value('sharepoint_sync_throughput')).toBe(3);
    expect(points.get('sharepoint_sync_throughput')?.[0]?.attributes).toEqual({
      workspace: 'acme',
      entity: 'Company',
      priority: 'P1',
      op: 'create',
    });
    expect(points.get('sharepoint_sync_conflicts')?.[0]?.attributes).toEqual({
      workspace: 'acme',
      entity: 'Person',
      priority: 'P3',
      policy: 'sharePointPriority',
      resolution: 'sharepoint',
    });
    // An event without a list (a $batch) keeps the instance's attributes only.
    expect(points.get('sharepoint_sync_batch_size')?.[0]?.attributes).toEqual({ workspace: 'acme' });
    expect(value('sharepoint_sync_errors')).toBe(2);
    expect(value('sharepoint_sync_dead_lettered')).toBe(1);
    expect(value('sharepoint_sync_conflicts')).toBe(1);
    expect(value('sharepoint_sync_resource_units')).toBe(2);
    expect(value('sharepoint_sync_throttled')).toBe(1);
    expect(value('sharepoint_sync_latency')).toMatchObject({ count: 3, sum: 60 });
    expect(value('sharepoint_sync_batch_size')).toMatchObject({ count: 1, sum: 20 });
    // The gauges: one point per list and priority, with the instance's attributes; the sums (the lag: the
    // largest) are the totals status() reports.
    const byList = (name: string) =>
      Object.fromEntries(
        (points.get(name) ?? []).map((p) => [`${p.attributes.entity} ${p.attributes.priority}`, p.value]),
      );
    const total = (name: string) => (points.get(name) ?? []).reduce((n, p) => n + (p.value as number), 0);
    expect(byList('sharepoint_sync_pending')).toEqual({ 'Company P1': 5, 'Person P3': 2 });
    expect(byList('sharepoint_sync_lag_seconds')).toEqual({ 'Company P1': 12.5, 'Person P3': 3 });
    expect(byList('sharepoint_sync_dead_letters')).toEqual({ 'Company P1': 2, 'Person P3': 0 });
    expect(byList('sharepoint_sync_open_conflicts')).toEqual({ 'Company P1': 0, 'Person P3': 1 });
    expect(byList('sharepoint_sync_last_refresh_timestamp_seconds')).toEqual({ 'Company P1': 1_750_000_000 });
    expect(total('sharepoint_sync_pending')).toBe(stored.pending);
    expect(Math.max(...(points.get('sharepoint_sync_lag_seconds') ?? []).map((p) => p.value as number))).toBe(
      stored.lagSeconds,
    );
    expect(total('sharepoint_sync_dead_letters')).toBe(stored.deadLetters);
    expect(total('sharepoint_sync_open_conflicts')).toBe(stored.openConflicts);
    expect(points.get('sharepoint_sync_pending')?.[0]?.attributes).toEqual({
      workspace: 'acme',
      entity: 'Company',
      priority: 'P1',
    });
    // The budget: used, and the limits to compare it with.
    expect(value('sharepoint_sync_budget_used_minute')).toBe(30);
    expect(value('sharepoint_sync_budget_limit_minute')).toBe(1200);
    expect(value('sharepoint_sync_budget_used_today')).toBe(500);
    expect(value('sharepoint_sync_budget_limit_day')).toBe(1_200_000);
    expect(points.get('sharepoint_sync_budget_limit_day')?.[0]?.attributes).toEqual({ workspace: 'acme' });

    expect(metrics.processTotals()).toEqual({
      sent: 3,
      errors: 2,
      conflicts: 1,
      deadLettered: 1,
      batches: 1,
      requests: 2,
      resourceUnits: 2,
      throttled: 1,
    });
  });

  it('keeps two instances apart and stops observing after close()', async () => {
    const { reader, provider, metrics } = setup({ workspace: 'a' });
    let otherReads = 0;
    const other = new SyncMetrics({
      meter: provider.getMeter('test'),
      attributes: { workspace: 'b' },
      readStoredFigures: async () => {
        otherReads += 1;
        return { pending: 1, lagSeconds: 0, deadLetters: 0, openConflicts: 0 };
      },
    });
    metrics.onEvent({ type: 'writeback.sent', entity: 'X', op: 'update', count: 5, latencyMs: [] });
    expect(other.processTotals().sent).toBe(0);
    const points = await collect(provider, reader);
    // 'a' reads per list (two lists), 'b' only its totals (no readListFigures): one point without a list.
    expect(
      points
        .get('sharepoint_sync_pending')
        ?.map((p) => `${p.attributes.workspace} ${p.attributes.entity ?? '-'}`)
        .sort(),
    ).toEqual(['a Company', 'a Person', 'b -']);
    expect(otherReads).toBe(1);
    other.close();
    await collect(provider, reader);
    // A closed instance no longer queries its database when a reader collects.
    expect(otherReads).toBe(1);
  });
});

describe('listFiguresFromRows', () => {
  it('gives every attached list a row at its own priority, zeros when nothing waits', () => {
    expect(listFiguresFromRows([], LISTS)).toEqual([
      { entity: 'Company', priority: 'P1', pending: 0, lagSeconds: 0, deadLetters: 0, openConflicts: 0 },
      { entity: 'Person', priority: 'P3', pending: 0, lagSeconds: 0, deadLetters: 0, openConflicts: 0 },
    ]);
  });

  it('keeps changes queued under an earlier priority and lists attach does not know, so the sums stay whole', () => {
    const rows: ListGaugeRow[] = [
      { kind: 'outbox', entity: 'Company', priority: 1, n: 4, seconds: 10 },
      // Queued before Company moved from P0 to P1: a row of its own.
      { kind: 'outbox', entity: 'Company', priority: 0, n: 1, seconds: 600 },
      { kind: 'dead_letters', entity: 'Company', priority: 0, n: 2, seconds: null },
      // A list removed from attach: its stored rows still count; its conflicts have no priority to give.
      { kind: 'outbox', entity: 'Gone', priority: 2, n: 3, seconds: 50 },
      { kind: 'conflicts', entity: 'Gone', priority: null, n: 1, seconds: null },
      { kind: 'conflicts', entity: 'Company', priority: null, n: 2, seconds: null },
      // A stale load marker of a list attach does not know is left out; a known list's is on its own row.
      { kind: 'cache_state', entity: 'Gone', priority: null, n: null, seconds: 1 },
      { kind: 'cache_state', entity: 'Person', priority: null, n: null, seconds: 1_750_000_000 },
    ];
    const figures = listFiguresFromRows(rows, LISTS);
    expect(figures).toEqual([
      { entity: 'Company', priority: 'P1', pending: 4, lagSeconds: 10, deadLetters: 0, openConflicts: 2 },
      {
        entity: 'Person',
        priority: 'P3',
        pending: 0,
        lagSeconds: 0,
        deadLetters: 0,
        openConflicts: 0,
        refreshedAt: 1_750_000_000,
      },
      { entity: 'Company', priority: 'P0', pending: 1, lagSeconds: 600, deadLetters: 2 },
      { entity: 'Gone', priority: 'P2', pending: 3, lagSeconds: 50, deadLetters: 0 },
      { entity: 'Gone', openConflicts: 1 },
    ]);
    const total = (pick: (f: (typeof figures)[number]) => number | undefined) =>
      figures.reduce((n, f) => n + (pick(f) ?? 0), 0);
    expect(total((f) => f.pending)).toBe(8);
    expect(total((f) => f.deadLetters)).toBe(2);
    expect(total((f) => f.openConflicts)).toBe(3);
    expect(Math.max(...figures.map((f) => f.lagSeconds ?? 0))).toBe(600);
  });
});
