import type { QueryRunner } from 'typeorm';
import {
  canonicalFromRow,
  type GraphListItem,
  type ListSchema,
  quoteIdentifier,
  quoteTablePath,
  rowIdSql,
} from '../schema/index.js';
import { rows as selectRows } from '../store/db.js';
import {
  deleteSyncStates,
  itemsDeletedSince,
  pendingOutboxIds,
  syncStateOfItem,
  syncStatesOf,
  twentyIdsForItems,
  upsertRows,
  upsertSyncStates,
} from '../store/rows.js';
import { assignTwentyIds } from './assign-ids.js';
import { compareWithKnown, type KnownState, sameContent } from './echo.js';
import { type LoadItem, type LoadRun, type PendingLocalChange, yieldingPage } from './run.js';
import { deleteRecords } from './sweep.js';

/** An item with its TwentyId; `remote` (its canonical values) once the page's plan has computed them. */
type ReadyItem = LoadItem & { twentyId: string; remote?: Record<string, unknown> };

/** What one page's transaction did, counted once it committed (a page that yielded to a lock runs again). */
interface PageOutcome {
  echoes: number;
  loaded: number;
  deleted: number;
  pendingLocal: number;
  unresolved: { key: string; column: string; value: string }[];
  skipped: { itemId: string; reason: string }[];
}

/**
 * Writes one page of items (from the items or delta endpoint) into PostgreSQL: converts them, gives new items
 * their TwentyId, then stores the page in one transaction with capture suppressed.
 */
export async function writePage(run: LoadRun, items: GraphListItem[]): Promise<void> {
  const { live, deletedItemIds } = convertPage(run, items);
  await assignTwentyIds(
    run,
    live.filter((l) => !l.twentyId),
  );
  const ready = live.filter((l): l is ReadyItem => l.twentyId !== undefined);
  const page = await yieldingPage(run.runner, () => storePage(run, ready, deletedItemIds));
  const result = run.result;
  result.echoes = (result.echoes ?? 0) + page.echoes;
  result.loaded += page.loaded;
  result.deleted += page.deleted;
  result.pendingLocal += page.pendingLocal;
  run.unresolved.push(...page.unresolved);
  for (const s of page.skipped) run.skip(s.itemId, s.reason);
}

/** The page's items converted to rows (unconvertible ones skipped), and the ids of the deleted ones. */
function convertPage(run: LoadRun, items: GraphListItem[]): { live: LoadItem[]; deletedItemIds: string[] } {
  // A delta feed may carry an item twice: the last occurrence is its latest state.
  const byId = new Map<string, GraphListItem>();
  for (const item of items) {
    byId.delete(item.id);
    byId.set(item.id, item);
  }
  const deletedItemIds: string[] = [];
  const live: LoadItem[] = [];
  for (const item of byId.values()) {
    if (item.deleted) {
      deletedItemIds.push(item.id);
      continue;
    }
    const converted = run.convert(item.fields ?? {});
    if (!converted.ok) {
      run.skip(item.id, converted.reason);
      const id = item.fields?.[run.list.idField.name];
      if (typeof id === 'string') run.keep.push(id);
      continue;
    }
    live.push({
      item,
      row: converted.row,
      fields: converted.fields,
      ...(converted.twentyId ? { twentyId: converted.twentyId } : {}),
    });
  }
  return { live, deletedItemIds };
}

/** The page's transaction: lock its rows, decide each entry against what is known, store and delete. */
async function storePage(run: LoadRun, ready: ReadyItem[], deletedItemIds: string[]): Promise<PageOutcome> {
  const { ctx, runner, list, settings } = run;
  const entity = list.entityName;
  const skipped: { itemId: string; reason: string }[] = [];
  const deletedMap = await twentyIdsForItems(runner, ctx.schema, run.listId, deletedItemIds);
  const pageIds = [...ready.map((r) => r.twentyId), ...deletedMap.values()];
  // Lock the page's rows first: an application write to one of them either committed before (its outbox
  // row is seen below) or waits until this page commits. Otherwise a write committed between reading the
  // outbox and the upsert would be overwritten by SharePoint's version and never sent.
  const present = await lockRows(runner, list, pageIds);
  const pending = await pendingOutboxIds(runner, ctx.schema, entity, pageIds);
  const known = await syncStatesOf(runner, ctx.schema, entity, pageIds);
  // Read in the transaction, after the outbox: a delete the worker settled since this pass began left no
  // outbox row and no sync state, only its tombstone.
  const deletedSinceRead = await itemsDeletedSince(
    runner,
    ctx.schema,
    run.listId,
    ready.map((r) => r.item.id),
    run.startedAt,
  );
  const localRows = await rowsById(
    runner,
    list,
    [...pending].filter((id) => present.has(id)),
  );
  const plan = planPage(run, ready, deletedMap, { present, pending, known, localRows, deletedSinceRead });
  await settleConflicts(run, plan);
  const outcome = await upsertRows(
    runner,
    run.target,
    plan.toWrite.map((r) => r.row),
    { chunkSize: settings.chunkSize },
  );
  const states = [...plan.toWrite, ...plan.refreshState].map((r) =>
    syncStateOfItem(list, r.twentyId, r.item, r.fields, r.remote),
  );
  await upsertSyncStates(runner, ctx.schema, entity, run.listId, states, { chunkSize: settings.chunkSize });
  const deleted = await deleteRecords(runner, list, run.target, plan.deleteIds, (itemId, reason) =>
    skipped.push({ itemId, reason }),
  );
  await deleteSyncStates(runner, ctx.schema, entity, plan.deleteIds);
  return {
    echoes: plan.echoes,
    loaded: plan.toWrite.length,
    deleted,
    pendingLocal: plan.pendingLocal,
    unresolved: outcome.unresolved,
    skipped,
  };
}

/** What the page's transaction found in PostgreSQL for the page's records. */
interface PageContext {
  /** TwentyIds with a row in PostgreSQL (now locked). */
  present: Set<string>;
  /** TwentyIds with a change waiting in the outbox. */
  pending: Set<string>;
  known: Map<string, KnownState>;
  /** The current rows of the pending records. */
  localRows: Map<string, Record<string, unknown>>;
  /** Item ids our write-back saw deleted since this pass began: what the page says of them is stale. */
  deletedSinceRead: Set<string>;
}

/** What to do with each entry of a page. */
interface PagePlan {
  toWrite: ReadyItem[];
  /** SharePoint holds what the cache already has: only its eTag (and values as seen) are refreshed. */
  refreshState: ReadyItem[];
  deleteIds: string[];
  /** Real SharePoint changes met by an unsent local change: the conflict policy decides. */
  conflicts: PendingLocalChange[];
  conflicting: Map<string, ReadyItem>;
  echoes: number;
  pendingLocal: number;
}

/** Decides each entry of the page against the outbox and sync_state: write, refresh, delete, conflict or nothing. */
function planPage(
  run: LoadRun,
  ready: ReadyItem[],
  deletedMap: Map<string, string>,
  found: PageContext,
): PagePlan {
  const { list } = run;
  const { present, pending, known, localRows, deletedSinceRead } = found;
  const plan: PagePlan = {
    toWrite: [],
    refreshState: [],
    deleteIds: [],
    conflicts: [],
    conflicting: new Map(),
    echoes: 0,
    pendingLocal: 0,
  };
  for (const r of ready) {
    if (deletedSinceRead.has(r.item.id) && !pending.has(r.twentyId)) {
      // Read before our delete reached SharePoint, stored after it was settled: storing it would bring back
      // a record the application deleted (and take the delete's echo, later, for a SharePoint delete).
      plan.echoes++;
      continue;
    }
    const verdict = compareWithKnown(list, known.get(r.twentyId), r.item.eTag, r.fields);
    r.remote = verdict.remote;
    if (pending.has(r.twentyId)) {
      // An entry that is our own write (or older than it) is never a conflict: the local change waiting
      // in the outbox is kept and sent. Only a real SharePoint change goes to the conflict policy.
      if (verdict.kind !== 'changed') {
        plan.pendingLocal++;
        continue;
      }
      const local = localRows.get(r.twentyId);
      if (local && sameContent(canonicalFromRow(list, local), verdict.remote)) {
        // Changed in SharePoint to exactly the local values: both sides agree, nothing to decide.
        plan.refreshState.push(r);
        plan.pendingLocal++;
        continue;
      }
      plan.conflicting.set(r.twentyId, r);
      plan.conflicts.push({
        twentyId: r.twentyId,
        itemId: r.item.id,
        deleted: false,
        etag: r.item.eTag ?? null,
        lastModified: r.item.lastModifiedDateTime ?? null,
        fields: r.fields,
      });
      continue;
    }
    if (verdict.kind === 'stale') {
      // Read before our own later write-back was recorded: the newer state is already here.
      run.keep.push(r.twentyId);
      plan.echoes++;
      continue;
    }
    if (run.mode === 'delta' && verdict.kind !== 'changed') {
      if (verdict.kind === 'same' && verdict.newEtag) plan.refreshState.push(r);
      plan.echoes++;
      continue;
    }
    plan.toWrite.push(r);
  }
  for (const [itemId, id] of deletedMap) {
    if (!pending.has(id)) {
      plan.deleteIds.push(id);
    } else if (!present.has(id)) {
      // Deleted on both sides (or our own delete coming back before its outbox row was closed): the
      // queued delete finds the item gone. Nothing to decide.
      plan.pendingLocal++;
    } else {
      plan.conflicts.push({ twentyId: id, itemId, deleted: true, etag: null, lastModified: null });
    }
  }
  return plan;
}

/** Hands the page's conflicts to the policy (inbound's); SharePoint's version is applied where it says so. */
async function settleConflicts(run: LoadRun, plan: PagePlan): Promise<void> {
  const decide = run.settings.onPendingLocal;
  if (!decide || plan.conflicts.length === 0) {
    plan.pendingLocal += plan.conflicts.length;
    return;
  }
  const apply = await decide(run.runner, run.list, plan.conflicts);
  for (const change of plan.conflicts) {
    if (!apply.has(change.twentyId)) plan.pendingLocal++;
    else if (change.deleted) plan.deleteIds.push(change.twentyId);
    else plan.toWrite.push(plan.conflicting.get(change.twentyId)!);
  }
}

/**
 * Locks the rows of these records (`FOR UPDATE`, waiting at most the page's lock timeout) and returns the
 * TwentyIds that exist in PostgreSQL.
 */
async function lockRows(runner: QueryRunner, list: ListSchema, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const found = await selectRows<{ id: string }>(
    runner,
    `SELECT ${rowIdSql(list, 'e')} AS id FROM ${quoteTablePath(list.tablePath)} e WHERE ${rowMatchSql(list, 'e')}
       FOR UPDATE`,
    [ids],
  );
  return new Set(found.map((f) => f.id));
}

/** The current rows of these records (already locked by `lockRows`), keyed by TwentyId. */
async function rowsById(
  runner: QueryRunner,
  list: ListSchema,
  ids: string[],
): Promise<Map<string, Record<string, unknown>>> {
  if (ids.length === 0) return new Map();
  const found = await selectRows<Record<string, unknown>>(
    runner,
    `SELECT e.*, ${rowIdSql(list, 'e')} AS "__tsp_id" FROM ${quoteTablePath(list.tablePath)} e WHERE ${rowMatchSql(list, 'e')}`,
    [ids],
  );
  return new Map(
    found.map((row) => {
      const id = String(row.__tsp_id);
      delete row.__tsp_id;
      return [id, row];
    }),
  );
}

/** `$1` (text[] of TwentyIds) matched against rows; by the primary key's own type so its index is used. */
function rowMatchSql(list: ListSchema, alias: string): string {
  if (list.kind === 'junction') return `${rowIdSql(list, alias)} = ANY($1::text[])`;
  // An untyped array parameter takes the key column's type: `= ANY($1)` stays an index scan.
  return `${alias}.${quoteIdentifier(list.primaryKey)} = ANY($1)`;
}
