import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { SyncMetrics } from '../../src/metrics/index.js';

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
    const metrics = new SyncMetrics({
      meter: provider.getMeter('test'),
      attributes,
      readStoredFigures: async () => stored,
    });
    return { reader, provider, metrics, stored };
  }

  it('turns events and requests into the documented meters, with the instance attributes', async () => {
    const { reader, provider, metrics } = setup({ workspace: 'acme' });
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
      op: 'create',
    });
    expect(value('sharepoint_sync_errors')).toBe(2);
    expect(value('sharepoint_sync_dead_lettered')).toBe(1);
    expect(value('sharepoint_sync_conflicts')).toBe(1);
    expect(value('sharepoint_sync_resource_units')).toBe(2);
    expect(value('sharepoint_sync_throttled')).toBe(1);
    expect(value('sharepoint_sync_latency')).toMatchObject({ count: 3, sum: 60 });
    expect(value('sharepoint_sync_batch_size')).toMatchObject({ count: 1, sum: 20 });
    expect(value('sharepoint_sync_pending')).toBe(7);
    expect(value('sharepoint_sync_lag_seconds')).toBe(12.5);
    expect(value('sharepoint_sync_dead_letters')).toBe(2);
    expect(value('sharepoint_sync_open_conflicts')).toBe(1);
    expect(points.get('sharepoint_sync_pending')?.[0]?.attributes).toEqual({ workspace: 'acme' });

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
    expect(
      points
        .get('sharepoint_sync_pending')
        ?.map((p) => p.attributes.workspace)
        .sort(),
    ).toEqual(['a', 'b']);
    expect(otherReads).toBe(1);
    other.close();
    await collect(provider, reader);
    // A closed instance no longer queries its database when a reader collects.
    expect(otherReads).toBe(1);
  });
});
