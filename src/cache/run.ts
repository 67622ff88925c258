import type { QueryRunner } from 'typeorm';
import type { SyncContext } from '../context.js';
import type { ConvertedItem, GraphListItem, ListSchema } from '../schema/index.js';
import { suppressCapture } from '../store/capture.js';
import { isLockConflict, YIELD_LOCK_TIMEOUT_MS, yieldBackoff } from '../store/db.js';
import type { UpsertTarget } from '../store/rows.js';

export interface LoadResult {
  entity: string;
  mode: 'full' | 'delta' | 'cached';
  /** Records written (upserted) into PostgreSQL. */
  loaded: number;
  /** Records removed from PostgreSQL because SharePoint no longer has them. */
  deleted: number;
  /** Items that could not be stored, each with the reason (the load went on without them). */
  skipped: { itemId: string; reason: string }[];
  /** Records left alone because a local change is waiting in the outbox (write-back sends it). */
  pendingLocal: number;
  /** Items that had no TwentyId: given a new UUID, stored, and written back to SharePoint. */
  assignedTwentyIds: number;
  /** Graph HTTP requests made (pages + $batch calls). */
  requests: number;
  /** Delta entries that were our own write-backs coming back (nothing to apply). */
  echoes?: number;
  durationMs: number;
}

/** A result with nothing loaded yet (a load's starting tally, or a list that was fresh). */
export function emptyResult(entity: string, mode: LoadResult['mode']): LoadResult {
  return {
    entity,
    mode,
    loaded: 0,
    deleted: 0,
    skipped: [],
    pendingLocal: 0,
    assignedTwentyIds: 0,
    requests: 0,
    durationMs: 0,
  };
}

export interface LoadSettings {
  pageSize: number;
  chunkSize: number;
  /** Ranges read at once by a cold load (`cache.loadParallelism`); 1 reads the list in one sequence. */
  parallelism: number;
  /**
   * Changes from SharePoint to records that also have an unsent local change (a conflict). Called inside the
   * page's transaction; returns the TwentyIds whose SharePoint version must be applied anyway. Without it the
   * local change wins for now (it is sent later) and the remote one is counted in `pendingLocal`.
   */
  onPendingLocal?: (
    runner: QueryRunner,
    list: ListSchema,
    changes: PendingLocalChange[],
  ) => Promise<Set<string>>;
}

/** A SharePoint change met by an unsent local change of the same record. */
export interface PendingLocalChange {
  twentyId: string;
  itemId: string;
  /** Removed in SharePoint. */
  deleted: boolean;
  etag: string | null;
  lastModified: string | null;
  /** SharePoint's fields (undefined when deleted). */
  fields?: Record<string, unknown>;
}

/** One live (not deleted) item of a page, converted; `twentyId` is missing until one is assigned. */
export interface LoadItem {
  item: GraphListItem;
  row: Record<string, unknown>;
  twentyId?: string;
  fields: Record<string, unknown>;
}

/** One load of one list in progress: what each of its steps (page, assign ids, sweep) reads and adds to. */
export interface LoadRun {
  ctx: SyncContext;
  /** A dedicated connection, not in a transaction: each page opens its own. */
  runner: QueryRunner;
  list: ListSchema;
  mode: 'full' | 'delta';
  settings: LoadSettings;
  listId: string;
  /** `/sites/{site}/lists/{list}/items`. */
  itemsPath: string;
  target: UpsertTarget;
  convert: (fields: Record<string, unknown>) => ConvertedItem;
  result: LoadResult & { deltaLink?: string };
  /** Relation ids that pointed at rows not loaded yet: set once every page is in. */
  unresolved: { key: string; column: string; value: string }[];
  /** TwentyIds the sweep must keep although this pass did not store them (skipped or stale entries). */
  keep: string[];
  /** The database's clock when the pass began: an item the write-back deleted after it is stale in any page. */
  startedAt: Date;
  /** Reports an item that could not be stored (the load goes on without it). */
  skip(itemId: string, reason: string): void;
}

/**
 * One page's transaction, capture suppressed, yielding to application row locks: it waits at most
 * `YIELD_LOCK_TIMEOUT_MS` for a lock, then rolls back and runs again, so a load never makes an application
 * write the victim of a deadlock.
 */
export async function yieldingPage<T>(runner: QueryRunner, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    await runner.startTransaction();
    try {
      await runner.query(`SET LOCAL lock_timeout = '${YIELD_LOCK_TIMEOUT_MS}ms'`);
      await suppressCapture(runner);
      const result = await work();
      await runner.commitTransaction();
      return result;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      if (!isLockConflict(error) || attempt >= 20) throw error;
      await yieldBackoff(attempt);
    }
  }
}
