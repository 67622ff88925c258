import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import type { Meter } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { type ListGaugeRow, listFiguresFromRows, SyncMetrics } from '../../src/metrics/index.js';
import { StrandedWatch } from '../../src/workspaces/stranded.js';

const dashboardFile = path.resolve(import.meta.dirname, '../../docs/grafana/typeorm-sharepoint.json');

interface Target {
  expr: string;
  legendFormat?: string;
  format?: string;
}
interface Panel {
  id: number;
  title: string;
  type: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets: Target[];
  transformations?: { id: string; options: { renameByName?: Record<string, string> } }[];
}

/** One exported series: its metric name and labels. */
interface Series {
  name: string;
  labels: Record<string, string>;
}

/** The lists of the fixture: Company at P0, Person at P2 (and a change of Company still queued at P1). */
const LISTS = [
  { entityName: 'Company', priority: 'P0' as const },
  { entityName: 'Person', priority: 'P2' as const },
];
const NOW = 1_750_000_000;
const STORED: ListGaugeRow[] = [
  { kind: 'outbox', entity: 'Company', priority: 0, n: 2, seconds: 4 },
  { kind: 'outbox', entity: 'Company', priority: 1, n: 1, seconds: 90 },
  { kind: 'dead_letters', entity: 'Person', priority: 2, n: 1, seconds: null },
  { kind: 'conflicts', entity: 'Company', priority: null, n: 1, seconds: null },
  { kind: 'cache_state', entity: 'Company', priority: null, n: null, seconds: NOW - 30 },
  { kind: 'cache_state', entity: 'Person', priority: null, n: null, seconds: NOW - 3600 },
];

/** Parses the Prometheus text format: one `Series` per sample line. */
function parseExposition(text: string): Series[] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [, name, body] = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s/.exec(line)!;
      const labels: Record<string, string> = {};
      for (const [, key, value] of (body ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
        labels[key!] = value!;
      return { name: name!, labels };
    });
}

/**
 * The library's meters as the OpenTelemetry Prometheus exporter names them: a real exporter over a real
 * SyncMetrics (and the workspaces' StrandedWatch), every instrument given a point (counters get `_total`,
 * histograms `_bucket`/`_sum`/`_count`), the gauges one point per list and priority as an attached sync
 * gives them. Also returns the instruments the library created, so that a new one cannot go unseen.
 */
async function exportedMetrics(): Promise<{
  text: string;
  series: Series[];
  names: Set<string>;
  instruments: string[];
}> {
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
    readStoredFigures: async () => ({ pending: 3, lagSeconds: 90, deadLetters: 1, openConflicts: 1 }),
    readListFigures: async () => listFiguresFromRows(STORED, LISTS),
    listPriority: (entity) => LISTS.find((l) => l.entityName === entity)?.priority,
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
  metrics.onEvent({ type: 'writeback.sent', entity: 'Person', op: 'update', count: 1, latencyMs: [15] });
  metrics.onEvent({ type: 'writeback.batch', size: 3 });
  metrics.onEvent({ type: 'writeback.retry', entity: 'Company', twentyId: 'a', error: 'x', attempt: 1 });
  metrics.onEvent({ type: 'writeback.deadLetter', entity: 'Person', twentyId: 'b', error: 'x' });
  metrics.onEvent({
    type: 'conflict',
    entity: 'Company',
    twentyId: 'a',
    policy: 'manualReview',
    resolution: 'manualReview',
  });
  metrics.onRequest({ status: 429, resourceUnits: 2, throttled: true });
  const stranded = new StrandedWatch({ debug() {}, info() {}, warn() {}, error() {} }, meter);
  await stranded.leftBehind(
    'globex',
    { schema: 'ws_globex', site: 'contoso.sharepoint.com:/sites/globex', pending: 4 },
    async () => false,
  );
  const text = await new Promise<string>((resolve) => {
    const response = { statusCode: 0, setHeader() {}, end: (body: string) => resolve(body) };
    exporter.getMetricsRequestHandler({} as IncomingMessage, response as unknown as ServerResponse);
  });
  metrics.close();
  await provider.shutdown();
  const series = parseExposition(text);
  return { text, series, names: new Set(series.map((s) => s.name)), instruments };
}

const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; query?: string | { query: string } }[] };
};

/** Every query of the dashboard: the panels' targets and the variables' `label_values(…)`. */
const queries: { where: string; expr: string; legend: string }[] = [
  ...dashboard.panels.flatMap((p) =>
    p.targets.map((t) => ({ where: p.title, expr: t.expr, legend: t.legendFormat ?? '' })),
  ),
  ...dashboard.templating.list
    .filter((v) => v.name !== 'datasource')
    .map((v) => ({
      where: `variable ${v.name}`,
      expr: typeof v.query === 'object' ? v.query.query : (v.query ?? ''),
      legend: '',
    })),
];
const metricsOf = (expr: string) => [...new Set(expr.match(/\bsharepoint_sync_[a-z_]+\b/g) ?? [])];
const queried = [...new Set(queries.flatMap((q) => metricsOf(q.expr)))].sort();

/** The labels an expression keeps through each `by (…)`, one list per clause. */
const byClauses = (expr: string) =>
  [...expr.matchAll(/\bby\s*\(([^)]*)\)/g)].map((m) =>
    m[1]!
      .split(',')
      .map((l) => l.trim())
      .filter(Boolean),
  );
/** Labels named in selectors (`{workspace=~"$workspace"}`) and as `label_values(…, label)`. */
const selectorLabels = (expr: string) => [
  ...[...expr.matchAll(/\{([^}]*)\}/g)].flatMap((m) =>
    [...m[1]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1]!),
  ),
  ...[...expr.matchAll(/label_values\([^)]*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)/g)].map((m) => m[1]!),
];
const legendLabels = (legend: string) =>
  [...legend.matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g)].map((m) => m[1]!);

describe('Grafana dashboard (docs/grafana/typeorm-sharepoint.json)', () => {
  it('queries only metrics the library exports, under the names the Prometheus exporter gives them', async () => {
    const { names, text } = await exportedMetrics();
    expect(queried.length).toBeGreaterThan(15);
    const missing = queried.filter((name) => !names.has(name));
    expect(missing, `exported:\n${text}`).toEqual([]);
  });

  it('shows every instrument of the library', async () => {
    const { instruments } = await exportedMetrics();
    expect(instruments.length).toBeGreaterThanOrEqual(17);
    const unseen = instruments.filter((name) => !queried.some((q) => q === name || q.startsWith(`${name}_`)));
    expect(unseen).toEqual([]);
  });

  it('is documented: docs/grafana.md and docs/operations.md name every instrument', async () => {
    const { instruments } = await exportedMetrics();
    for (const file of ['grafana.md', 'operations.md']) {
      const text = readFileSync(path.resolve(import.meta.dirname, '../../docs', file), 'utf8');
      expect(
        instruments.filter((name) => !text.includes(name)),
        file,
      ).toEqual([]);
    }
  });

  it('groups, filters and labels only by labels that are on every series it queries', async () => {
    const { series, text } = await exportedMetrics();
    const problems: string[] = [];
    for (const { where, expr, legend } of queries) {
      const clauses = byClauses(expr);
      const labels = new Set([...clauses.flat(), ...selectorLabels(expr), ...legendLabels(legend)]);
      for (const metric of metricsOf(expr)) {
        const points = series.filter((s) => s.name === metric);
        if (points.length === 0) problems.push(`${where}: ${metric} has no series`);
        for (const label of labels)
          for (const p of points)
            if (!(label in p.labels))
              problems.push(`${where}: ${metric}{${Object.keys(p.labels).join(',')}} has no "${label}"`);
      }
      // A legend can only name a label every aggregation on the way keeps (else it prints empty).
      const bare = /\b(sum|min|max|avg|count)\s*\(/.test(expr);
      for (const label of legendLabels(legend)) {
        if (bare || clauses.length === 0 || clauses.some((c) => !c.includes(label)))
          problems.push(`${where}: legend {{${label}}} is aggregated away in ${expr}`);
      }
    }
    expect(problems, `exported:\n${text}`).toEqual([]);
  });

  it('shows the overview per list and priority: a table, the last hour per list, and RU used vs budget', async () => {
    const panel = (title: string) => {
      const found = dashboard.panels.find((p) => p.title === title);
      expect(found, title).toBeDefined();
      return found!;
    };
    // The table: every column grouped by the same labels, so that Grafana merges them into one row per list.
    const table = panel('Lists (per list and priority)');
    expect(table.type).toBe('table');
    for (const { expr } of table.targets)
      for (const clause of byClauses(expr)) expect(clause, expr).toEqual(['workspace', 'entity', 'priority']);
    expect(table.transformations?.map((t) => t.id)).toContain('merge');
    const columns = Object.values(
      table.transformations?.find((t) => t.id === 'organize')?.options.renameByName ?? {},
    );
    for (const column of [
      'List',
      'Priority',
      'Pending',
      'Oldest pending',
      'Sent / min',
      'Dead letters',
      'Open conflicts',
      'Since last load or pull',
    ])
      expect(columns).toContain(column);
    const tableMetrics = table.targets.flatMap((t) => metricsOf(t.expr));
    for (const metric of [
      'sharepoint_sync_pending',
      'sharepoint_sync_lag_seconds',
      'sharepoint_sync_throughput_total',
      'sharepoint_sync_dead_letters',
      'sharepoint_sync_open_conflicts',
      'sharepoint_sync_last_refresh_timestamp_seconds',
    ])
      expect(tableMetrics).toContain(metric);

    // The last hour per list (pending, lag), and pending per priority.
    for (const [title, metric, label] of [
      ['Pending by list', 'sharepoint_sync_pending', 'entity'],
      ['Lag by list', 'sharepoint_sync_lag_seconds', 'entity'],
      ['Sent / min by list', 'sharepoint_sync_throughput_total', 'entity'],
      ['Pending by priority', 'sharepoint_sync_pending', 'priority'],
      ['Since last load or pull by list', 'sharepoint_sync_last_refresh_timestamp_seconds', 'entity'],
    ] as const) {
      const [target] = panel(title).targets;
      expect(metricsOf(target!.expr), title).toContain(metric);
      expect(byClauses(target!.expr)[0], title).toContain(label);
      expect(legendLabels(target!.legendFormat ?? ''), title).toContain(label);
    }

    // Resource units used against the budget's limits, per minute and per 24 hours.
    for (const title of ['RU used vs budget', 'RU used vs budget per minute', 'RU used vs budget per 24 h']) {
      const used = panel(title).targets.flatMap((t) => metricsOf(t.expr));
      expect(
        used.some((m) => m.startsWith('sharepoint_sync_budget_used_')),
        title,
      ).toBe(true);
      expect(
        used.some((m) => m.startsWith('sharepoint_sync_budget_limit_')),
        title,
      ).toBe(true);
    }
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
    // Every query filters by the workspace variable (one dashboard for one sync or many workspaces), and every
    // query of a per-list metric by the list variable.
    for (const panel of dashboard.panels)
      for (const target of panel.targets) {
        expect(target.expr, panel.title).toContain('workspace=~"$workspace"');
        if (
          /sharepoint_sync_(pending|lag_seconds|dead_letters|open_conflicts|last_refresh)/.test(target.expr)
        )
          expect(target.expr, panel.title).toContain('entity=~"$entity"');
      }
  });
});
