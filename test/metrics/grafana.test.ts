import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import type { Meter } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { SyncMetrics } from '../../src/metrics/index.js';

const dashboardFile = path.resolve(import.meta.dirname, '../../docs/grafana/typeorm-sharepoint.json');

interface Panel {
  id: number;
  title: string;
  type: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets: { expr: string }[];
}

/**
 * The library's meters as the OpenTelemetry Prometheus exporter names them: a real exporter over a real
 * SyncMetrics, every instrument given a point (counters get `_total`, histograms `_bucket`/`_sum`/`_count`).
 * Also returns the instruments the library created, so that a new one cannot go unseen.
 */
async function exportedMetrics(): Promise<{ text: string; names: Set<string>; instruments: string[] }> {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [exporter] });
  const real = provider.getMeter('typeorm-sharepoint');
  const instruments: string[] = [];
  const meter = new Proxy(real, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof key === 'string' && key.startsWith('create') && typeof value === 'function')
        return (name: string, ...rest: unknown[]) => {
          instruments.push(name);
          return value.call(target, name, ...rest);
        };
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as Meter;
  const metrics = new SyncMetrics({
    meter,
    attributes: { workspace: 'acme' },
    readStoredFigures: async () => ({ pending: 3, lagSeconds: 2, deadLetters: 1, openConflicts: 1 }),
    readBudget: async () => ({
      shared: true,
      resourceUnitsPerMinute: 1250,
      resourceUnitsPerDay: 1_200_000,
      usedThisMinute: 40,
      usedToday: 900,
      remainingToday: 1_199_100,
      throttled: 1,
    }),
  });
  metrics.onEvent({ type: 'writeback.sent', entity: 'Company', op: 'create', count: 2, latencyMs: [10, 20] });
  metrics.onEvent({ type: 'writeback.batch', size: 3 });
  metrics.onEvent({ type: 'writeback.retry', entity: 'Company', twentyId: 'a', error: 'x', attempt: 1 });
  metrics.onEvent({ type: 'writeback.deadLetter', entity: 'Company', twentyId: 'a', error: 'x' });
  metrics.onEvent({
    type: 'conflict',
    entity: 'Company',
    twentyId: 'a',
    policy: 'manualReview',
    resolution: 'manualReview',
  });
  metrics.onRequest({ status: 429, resourceUnits: 2, throttled: true });
  const text = await new Promise<string>((resolve) => {
    const response = { statusCode: 0, setHeader() {}, end: (body: string) => resolve(body) };
    exporter.getMetricsRequestHandler({} as IncomingMessage, response as unknown as ServerResponse);
  });
  metrics.close();
  await provider.shutdown();
  const names = new Set(
    text
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0]),
  );
  return { text, names, instruments };
}

const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; query?: string | { query: string } }[] };
};
const queries = [
  ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
  ...dashboard.templating.list.flatMap((v) =>
    typeof v.query === 'object' ? [v.query.query] : v.name === 'datasource' ? [] : [v.query ?? ''],
  ),
];
const queried = [...new Set(queries.flatMap((q) => q.match(/\bsharepoint_sync_[a-z_]+\b/g) ?? []))].sort();

describe('Grafana dashboard (docs/grafana/typeorm-sharepoint.json)', () => {
  it('queries only metrics the library exports, under the names the Prometheus exporter gives them', async () => {
    const { names, text } = await exportedMetrics();
    expect(queried.length).toBeGreaterThan(10);
    const missing = queried.filter((name) => !names.has(name));
    expect(missing, `exported:\n${text}`).toEqual([]);
  });

  it('shows every instrument of the library', async () => {
    const { instruments } = await exportedMetrics();
    expect(instruments.length).toBeGreaterThanOrEqual(12);
    const unseen = instruments.filter((name) => !queried.some((q) => q === name || q.startsWith(`${name}_`)));
    expect(unseen).toEqual([]);
  });

  it("has the overview's panels, each with a unique id, laid out without overlap", () => {
    const titles = dashboard.panels.map((p) => p.title);
    for (const wanted of [
      'Pending',
      'Oldest pending (lag)',
      'Sent / min',
      'Dead letters',
      'Open conflicts',
      'Resource units / min',
    ])
      expect(titles).toContain(wanted);
    expect(titles.some((t) => /throttled/i.test(t))).toBe(true);
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    const cells = new Set<string>();
    for (const { gridPos: g, title } of dashboard.panels) {
      expect(g.x + g.w, title).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++)
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`), `${title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
    }
    // Every query filters by the workspace variable (one dashboard for one sync or many workspaces).
    for (const panel of dashboard.panels)
      for (const target of panel.targets)
        expect(target.expr, panel.title).toContain('workspace=~"$workspace"');
  });
});
