import type { DataSource } from 'typeorm';
import type { SyncEvent } from '../context.js';
import { assertSchemaName, rows } from '../store/db.js';
import { hasStatusTables, listFigures, listLoads, statusFigures } from '../store/sql.js';
import type { SharePointSync, SyncStatus } from '../sync/index.js';

/** One list's row of the overview. */
export interface ListFigures {
  entity: string;
  title: string;
  priority: string;
  pending: number;
  /** Pending changes held for a person's review (manualReview). */
  held: number;
  /** Age of the list's oldest unsent change, in seconds (0 when none). */
  oldestSeconds: number;
  /** Records of this list written back by this process in the last minute. */
  sentPerMinute: number;
  deadLetters: number;
  openConflicts: number;
  /** Last full load of the list (every item, from the start), ISO time. */
  lastLoadAt?: string;
  /** Last pull of the list (delta: what changed since the load or pull before), ISO time. */
  lastPullAt?: string;
  /**
   * Last load or pull, whichever came last, ISO time: what the cache's freshness counts from (and all a
   * database from before migration 5 recorded, until the list's next load or pull).
   */
  refreshedAt?: string;
  /** Records of the list that SharePoint holds now, as this cache knows them (loaded, or written back). */
  itemCount: number;
}

/** One sample of the last hour's charts. */
export interface HistoryPoint {
  /** Epoch milliseconds. */
  t: number;
  pending: number;
  lagSeconds: number;
  /** Totals of this process since attach (rates are differences between points). */
  resourceUnits: number;
  sent: number;
  throttled: number;
}

export interface OverviewFigures {
  workspace?: string;
  generatedAt: string;
  pending: number;
  pendingByPriority: Record<string, number>;
  lagSeconds: number;
  deadLetters: number;
  openConflicts: number;
  sentPerMinute: number;
  resourceUnitsPerMinute: number;
  throttledPerMinute: number;
  /** This process's totals since attach (requests, resource units, throttles, …). */
  totals: SyncStatus['totals'];
  /** The resource-unit budget as `status()` gives it: used this minute and today, the limits, throttles. */
  budget?: NonNullable<SyncStatus['budget']>;
  writebackEnabled: boolean;
  lists: ListFigures[];
  history: HistoryPoint[];
}

const HOUR_MS = 60 * 60_000;
const MINUTE_MS = 60_000;

/** The last hour of samples, per workspace (key '' without workspaces). */
export class History {
  private readonly points = new Map<string, HistoryPoint[]>();

  record(
    key: string,
    status: {
      pending: number;
      lagSeconds: number;
      totals: { resourceUnits: number; sent: number; throttled: number };
    },
    now = Date.now(),
  ): void {
    const list = this.points.get(key) ?? [];
    list.push({
      t: now,
      pending: status.pending,
      lagSeconds: status.lagSeconds,
      resourceUnits: status.totals.resourceUnits,
      sent: status.totals.sent,
      throttled: status.totals.throttled,
    });
    while (list.length > 0 && list[0]!.t < now - HOUR_MS) list.shift();
    this.points.set(key, list);
  }

  of(key: string): HistoryPoint[] {
    return [...(this.points.get(key) ?? [])];
  }

  /**
   * How much of a cumulative total was added in the minute up to `points[at]` (default: the last point): the
   * difference with the latest sample at least a minute older, or with the first sample while the history is
   * younger than a minute. Counted, never extrapolated from a few seconds.
   */
  static perMinute(
    points: HistoryPoint[],
    pick: (p: HistoryPoint) => number,
    at = points.length - 1,
  ): number {
    if (at < 1) return 0;
    const last = points[at]!;
    let base = points[0]!;
    for (let i = 0; i < at; i++) if (points[i]!.t <= last.t - MINUTE_MS) base = points[i]!;
    return Math.max(0, pick(last) - pick(base));
  }
}

/** Records written back per list in the last minute, from the sync's own `writeback.sent` events. */
export class SentCounter {
  private readonly sent: { t: number; entity: string; count: number }[] = [];
  readonly stop: () => void;

  constructor(sync: SharePointSync) {
    this.stop = sync.on((event: SyncEvent) => {
      if (event.type !== 'writeback.sent') return;
      this.sent.push({ t: Date.now(), entity: event.entity, count: event.count });
      this.trim();
    });
  }

  perMinute(entity: string): number {
    this.trim();
    return this.sent.filter((s) => s.entity === entity).reduce((n, s) => n + s.count, 0);
  }

  private trim(): void {
    const from = Date.now() - MINUTE_MS;
    while (this.sent.length > 0 && this.sent[0]!.t < from) this.sent.shift();
  }
}

/** A workspace's stored figures, as the Workspaces page shows them. */
export interface WorkspaceFigures {
  pending: number;
  lagSeconds: number;
  deadLetters: number;
  openConflicts: number;
}

/**
 * The stored figures of the workspace whose schema is `schema`, read from its tables without attaching it;
 * undefined when the schema holds none of the library's tables yet (never attached).
 */
export async function storedWorkspaceFigures(
  dataSource: DataSource,
  schema: string,
): Promise<WorkspaceFigures | undefined> {
  assertSchemaName(schema);
  const [ready] = await rows<{ ready: boolean }>(dataSource, hasStatusTables, [schema]);
  if (!ready?.ready) return undefined;
  const [row] = await rows<{
    pending: number;
    lag_seconds: number;
    dead_letters: number;
    open_conflicts: number;
  }>(dataSource, statusFigures(schema));
  return {
    pending: row?.pending ?? 0,
    lagSeconds: row?.lag_seconds ?? 0,
    deadLetters: row?.dead_letters ?? 0,
    openConflicts: row?.open_conflicts ?? 0,
  };
}

const iso = (value: Date | null | undefined) => (value ? value.toISOString() : undefined);

/** The overview of one sync: `status()`, the per-list figures, this process's rates and the last hour. */
export async function overviewOf(
  sync: SharePointSync,
  history: History,
  key: string,
  sent: SentCounter | undefined,
): Promise<OverviewFigures> {
  const status = await sync.status();
  history.record(key, status);
  const perList = new Map(
    (
      await rows<{
        entity: string;
        pending: number;
        held: number;
        oldest_seconds: number;
        dead_letters: number;
        open_conflicts: number;
      }>(sync.context.dataSource, listFigures(sync.context.schema))
    ).map((r) => [r.entity, r]),
  );
  const loads = new Map(
    (
      await rows<{
        entity: string;
        loaded_at: Date | null;
        last_load_at: Date | null;
        last_pull_at: Date | null;
        items: number;
      }>(sync.context.dataSource, listLoads(sync.context.schema))
    ).map((r) => [r.entity, r]),
  );
  const points = history.of(key);
  const { budget } = status;
  return {
    ...(status.workspace ? { workspace: status.workspace } : {}),
    generatedAt: new Date().toISOString(),
    pending: status.pending,
    pendingByPriority: status.pendingByPriority,
    lagSeconds: status.lagSeconds,
    deadLetters: status.deadLetters,
    openConflicts: status.openConflicts,
    // Per list from the sync's events when this console listens to them (the same minute for the total).
    sentPerMinute: sent
      ? status.lists.reduce((n, list) => n + sent.perMinute(list.entity), 0)
      : History.perMinute(points, (p) => p.sent),
    resourceUnitsPerMinute: History.perMinute(points, (p) => p.resourceUnits),
    throttledPerMinute: History.perMinute(points, (p) => p.throttled),
    totals: status.totals,
    ...(budget ? { budget } : {}),
    writebackEnabled: status.writeback.enabled,
    lists: status.lists.map((list) => {
      const figures = perList.get(list.entity);
      const load = loads.get(list.entity);
      const lastLoadAt = iso(load?.last_load_at);
      const lastPullAt = iso(load?.last_pull_at);
      const refreshedAt = iso(load?.loaded_at) ?? list.loadedAt;
      return {
        entity: list.entity,
        title: list.title,
        priority: list.priority,
        pending: figures?.pending ?? 0,
        held: figures?.held ?? 0,
        oldestSeconds: figures?.oldest_seconds ?? 0,
        sentPerMinute: sent?.perMinute(list.entity) ?? 0,
        deadLetters: figures?.dead_letters ?? 0,
        openConflicts: figures?.open_conflicts ?? 0,
        ...(lastLoadAt ? { lastLoadAt } : {}),
        ...(lastPullAt ? { lastPullAt } : {}),
        ...(refreshedAt ? { refreshedAt } : {}),
        itemCount: load?.items ?? 0,
      };
    }),
    history: points,
  };
}
