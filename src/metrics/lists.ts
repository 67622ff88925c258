import type { SyncContext } from '../context.js';

/**
 * One row of the per-list gauges: a list and a priority. The process totals (`StoredFigures`) are the sum of
 * the rows (pending, dead letters, open conflicts) and the largest lag, so `sum()` / `max()` in PromQL give
 * what `status()` gives.
 */
export interface StoredListFigures {
  /** The entity name of the list (the metrics' `entity` attribute, as on the counters). */
  entity: string;
  /**
   * `P0`–`P3`: the priority the counted changes were queued with — the list's own, or an earlier one of the
   * list for changes queued before its priority changed. Absent only for a list attach does not know.
   */
  priority?: string;
  pending?: number;
  /** Age of the oldest unsent change of this list and priority, in seconds (0 when none). */
  lagSeconds?: number;
  deadLetters?: number;
  /** Conflicts have no priority: on the row of the list's own priority only. */
  openConflicts?: number;
  /** Last load or pull (delta) of the list, Unix seconds (`cache_state.loaded_at`): on the list's own row. */
  refreshedAt?: number;
}

/** A row of `listGaugeFigures` (src/store/sql.ts): one count per table, list and priority. */
export interface ListGaugeRow {
  kind: 'outbox' | 'dead_letters' | 'conflicts' | 'cache_state';
  entity: string;
  /** 0–3 (outbox, dead letters); null for conflicts and cache_state. */
  priority: number | null;
  /** Rows counted (null for cache_state). */
  n: number | null;
  /** outbox: age of the oldest change; cache_state: `loaded_at` as Unix seconds; else null. */
  seconds: number | null;
}

type ListRef = Pick<SyncContext['lists'][number], 'entityName' | 'priority'>;

/**
 * The per-list gauges' rows from the stored counts and the attached lists. Every attached list has a row at its
 * own priority (zeros when nothing waits), so a list's series never vanish; stored rows of lists attach does
 * not know (a list removed from `lists`) are kept, so the sums stay equal to `status()`'s totals. Bounded:
 * lists × the four priorities.
 */
export function listFiguresFromRows(
  found: readonly ListGaugeRow[],
  lists: readonly ListRef[],
): StoredListFigures[] {
  const rows = new Map<string, StoredListFigures>();
  const own = new Map(lists.map((l) => [l.entityName, l.priority as string]));
  const row = (entity: string, priority: string | undefined): StoredListFigures => {
    const key = `${entity}\u0000${priority ?? ''}`;
    let r = rows.get(key);
    if (!r) {
      r = { entity, ...(priority ? { priority } : {}) };
      rows.set(key, r);
    }
    return r;
  };
  const queue = (r: StoredListFigures) => {
    r.pending ??= 0;
    r.lagSeconds ??= 0;
    r.deadLetters ??= 0;
    return r;
  };
  for (const list of lists) queue(row(list.entityName, list.priority)).openConflicts = 0;
  for (const f of found) {
    const priority = f.priority === null ? own.get(f.entity) : `P${f.priority}`;
    switch (f.kind) {
      case 'outbox': {
        const r = queue(row(f.entity, priority));
        r.pending = (r.pending ?? 0) + (f.n ?? 0);
        r.lagSeconds = Math.max(r.lagSeconds ?? 0, f.seconds ?? 0);
        break;
      }
      case 'dead_letters': {
        const r = queue(row(f.entity, priority));
        r.deadLetters = (r.deadLetters ?? 0) + (f.n ?? 0);
        break;
      }
      case 'conflicts': {
        const r = row(f.entity, priority);
        r.openConflicts = (r.openConflicts ?? 0) + (f.n ?? 0);
        break;
      }
      case 'cache_state':
        // A list attach does not know keeps its stale marker out of the gauges.
        if (own.has(f.entity) && f.seconds !== null) row(f.entity, priority).refreshedAt = f.seconds;
        break;
    }
  }
  return [...rows.values()];
}
