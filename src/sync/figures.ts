import type { SyncContext } from '../context.js';
import { type ListGaugeRow, listFiguresFromRows, type StoredListFigures } from '../metrics/index.js';
import type { Priority } from '../schema/index.js';
import { rows } from '../store/db.js';
import { listGaugeFigures, statusFigures } from '../store/sql.js';

/** Pending, lag, dead letters and open conflicts, as stored (the gauges and `status()` read them). */
export async function readStoredFigures(context: SyncContext) {
  const [row] = await rows<{
    pending: number;
    p0: number;
    p1: number;
    p2: number;
    p3: number;
    lag_seconds: number;
    dead_letters: number;
    open_conflicts: number;
  }>(context.dataSource, statusFigures(context.schema));
  return {
    pending: row?.pending ?? 0,
    pendingByPriority: { P0: row?.p0 ?? 0, P1: row?.p1 ?? 0, P2: row?.p2 ?? 0, P3: row?.p3 ?? 0 } as Record<
      Priority,
      number
    >,
    lagSeconds: row?.lag_seconds ?? 0,
    deadLetters: row?.dead_letters ?? 0,
    openConflicts: row?.open_conflicts ?? 0,
  };
}

/** The same figures per list and priority, with the last load or pull of each list (the per-list gauges). */
export async function readListFigures(context: SyncContext): Promise<StoredListFigures[]> {
  const found = await rows<ListGaugeRow>(context.dataSource, listGaugeFigures(context.schema));
  return listFiguresFromRows(found, context.lists);
}
