import { randomUUID } from 'node:crypto';
import type { QueryRunner } from 'typeorm';
import type { SyncContext } from '../context.js';
import { expandFields, type GraphRequest, graphPath, ODATA } from '../graph/index.js';
import type { ListSchema } from '../schema/index.js';
import {
  execute,
  isLockConflict,
  rows as selectRows,
  YIELD_LOCK_TIMEOUT_MS,
  yieldBackoff,
} from '../store/db.js';
import {
  deleteRows,
  deleteSyncStates,
  pendingOutboxIds,
  quoteIdentifier,
  quoteTablePath,
  resolveReferences,
  type SyncStateRow,
  twentyIdsForItems,
  type UpsertTarget,
  upsertRows,
  upsertSyncStates,
} from '../store/rows.js';
import { upsertCacheState } from '../store/sql.js';
import { suppressCapture } from '../writeback/index.js';
import {
  canonicalFromItem,
  canonicalFromRow,
  type GraphListItem,
  hashCanonical,
  makeItemConverter,
  referenceAwareTarget,
  selectClause,
} from './convert.js';

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

export interface LoadSettings {
  pageSize: number;
  chunkSize: number;
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

export class DeltaTokenExpiredError extends Error {
  override name = 'DeltaTokenExpiredError';
}

/** The SQL expression giving a row's TwentyId as text (junction rows: md5 of the pair, as write-back computes it). */
export function rowIdSql(list: ListSchema, alias: string): string {
  if (list.kind === 'junction' && list.junction) {
    const o = `${alias}.${quoteIdentifier(list.junction.ownerField.databaseName)}::text`;
    const i = `${alias}.${quoteIdentifier(list.junction.inverseField.databaseName)}::text`;
    return `md5(${o} || ':' || ${i})::uuid::text`;
  }
  return `${alias}.${quoteIdentifier(list.primaryKey)}::text`;
}

/**
 * Loads one list into PostgreSQL on `runner` (a dedicated connection, not in a transaction):
 * - `full`: the delta endpoint without a token (so it ends with a deltaLink), every page, then removes
 *   rows SharePoint no longer has;
 * - `delta`: the stored deltaLink, only what changed (410 → `DeltaTokenExpiredError`, caller goes full).
 * Pages are processed as they arrive (the next one is fetched while the current one is written), so
 * memory holds at most two pages whatever the list size. Each page is one transaction with capture
 * suppressed: bulk upserts of rows and sync_state, deletions, never one row per round trip.
 */
export async function loadList(
  ctx: SyncContext,
  runner: QueryRunner,
  list: ListSchema,
  mode: 'full' | 'delta',
  settings: LoadSettings,
  previous: { deltaLink?: string | null; itemCount?: number | null } = {},
): Promise<LoadResult & { deltaLink?: string }> {
  const started = Date.now();
  const entity = list.entityName;
  const listId = ctx.listIds.get(entity);
  if (!listId) {
    throw new Error(
      `typeorm-sharepoint: no SharePoint list id for ${entity}; run bootstrap (sync.bootstrap()) first.`,
    );
  }
  const result: LoadResult & { deltaLink?: string } = {
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
  const target = referenceAwareTarget(ctx.dataSource, list);
  const convert = makeItemConverter(list);
  const unresolved: { key: string; column: string; value: string }[] = [];
  const skippedTwentyIds: string[] = [];
  const loadStart =
    mode === 'full'
      ? (await selectRows<{ t: Date }>(runner, 'SELECT clock_timestamp() AS t'))[0]!.t
      : undefined;

  const itemsPath = graphPath.items(ctx.site.id, listId);
  // Without list-item delta (US Government and China clouds) a load pages through the list itself and ends
  // without a deltaLink, so every refresh is a full pass (the sweep still removes what SharePoint lost).
  const pages =
    mode === 'delta' && previous.deltaLink
      ? ctx.graph.pages<GraphListItem>(previous.deltaLink)
      : ctx.graph.pages<GraphListItem>(
          ctx.graph.supportsListItemDelta ? graphPath.itemsDelta(ctx.site.id, listId) : itemsPath,
          {
            query: { $expand: expandFields(selectClause(list)), $top: settings.pageSize },
          },
        );
  const total = mode === 'full' ? (previous.itemCount ?? undefined) : undefined;

  const skip = (itemId: string, reason: string) => {
    result.skipped.push({ itemId, reason });
    ctx.emit({ type: 'load.skipped', entity, itemId, reason });
    ctx.logger.warn('typeorm-sharepoint: item skipped while loading', { entity, itemId, reason });
  };

  const iterator = pages[Symbol.asyncIterator]();
  let next = iterator.next();
  try {
    for (;;) {
      let step: IteratorResult<{ value: GraphListItem[]; nextLink?: string; deltaLink?: string }>;
      try {
        step = await next;
      } catch (error) {
        if (isGone(error))
          throw new DeltaTokenExpiredError(`typeorm-sharepoint: delta token of ${entity} expired`);
        throw error;
      }
      if (step.done) break;
      result.requests += 1;
      const page = step.value;
      if (page.deltaLink) result.deltaLink = page.deltaLink;
      else next = iterator.next(); // fetch the next page while this one is written
      if (!page.deltaLink) next.catch(() => {}); // observed below; avoid an unhandled rejection meanwhile
      await writePage(page.value);
      ctx.emit({
        type: 'load.progress',
        entity,
        loaded: result.loaded,
        skipped: result.skipped.length,
        ...(total !== undefined ? { total } : {}),
        done: false,
      });
      if (page.deltaLink) break;
    }
  } finally {
    await iterator.return?.().catch(() => undefined);
  }

  async function writePage(items: GraphListItem[]): Promise<void> {
    // A delta feed may carry an item twice: the last occurrence is its latest state.
    const byId = new Map<string, GraphListItem>();
    for (const item of items) {
      byId.delete(item.id);
      byId.set(item.id, item);
    }
    const deletedItemIds: string[] = [];
    const live: {
      item: GraphListItem;
      row: Record<string, unknown>;
      twentyId?: string;
      fields: Record<string, unknown>;
    }[] = [];
    for (const item of byId.values()) {
      if (item.deleted) {
        deletedItemIds.push(item.id);
        continue;
      }
      const converted = convert(item.fields ?? {});
      if (!converted.ok) {
        skip(item.id, converted.reason);
        const id = item.fields?.[list.idField.name];
        if (typeof id === 'string') skippedTwentyIds.push(id);
        continue;
      }
      live.push({
        item,
        row: converted.row,
        fields: converted.fields,
        ...(converted.twentyId ? { twentyId: converted.twentyId } : {}),
      });
    }
    await assignTwentyIds(live.filter((l) => !l.twentyId));
    const ready = live.filter((l): l is typeof l & { twentyId: string } => l.twentyId !== undefined);

    const page = await yieldingPage(runner, async () => {
      const skipped: { itemId: string; reason: string }[] = [];
      const deletedMap = await twentyIdsForItems(runner, ctx.schema, listId!, deletedItemIds);
      const pageIds = [...ready.map((r) => r.twentyId), ...deletedMap.values()];
      // Lock the page's rows first: an application write to one of them either committed before (its outbox
      // row is seen below) or waits until this page commits. Otherwise a write committed between reading the
      // outbox and the upsert would be overwritten by SharePoint's version and never sent.
      const present = await lockRows(runner, list, pageIds);
      const pending = await pendingOutboxIds(runner, ctx.schema, entity, pageIds);
      const known = await syncStatesFor(runner, ctx.schema, entity, pageIds);
      const localRows = await rowsById(
        runner,
        list,
        [...pending].filter((id) => present.has(id)),
      );
      let echoes = 0;
      let pendingLocal = 0;
      const toWrite: typeof ready = [];
      // SharePoint holds what the cache already has: only its eTag (and values as seen) are refreshed.
      const refreshState: typeof ready = [];
      const conflicts: PendingLocalChange[] = [];
      const conflicting = new Map<string, (typeof ready)[number]>();
      for (const r of ready) {
        const verdict = compareWithKnown(list, known.get(r.twentyId), r.item.eTag, r.fields);
        if (pending.has(r.twentyId)) {
          // An entry that is our own write (or older than it) is never a conflict: the local change waiting
          // in the outbox is kept and sent. Only a real SharePoint change goes to the conflict policy.
          if (verdict.kind !== 'changed') {
            pendingLocal++;
            continue;
          }
          const local = localRows.get(r.twentyId);
          if (local && sameContent(canonicalFromRow(list, local), verdict.remote)) {
            // Changed in SharePoint to exactly the local values: both sides agree, nothing to decide.
            refreshState.push(r);
            pendingLocal++;
            continue;
          }
          conflicting.set(r.twentyId, r);
          conflicts.push({
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
          skippedTwentyIds.push(r.twentyId);
          echoes++;
          continue;
        }
        if (mode === 'delta' && verdict.kind !== 'changed') {
          if (verdict.kind === 'same' && verdict.newEtag) refreshState.push(r);
          echoes++;
          continue;
        }
        toWrite.push(r);
      }
      const deleteIds: string[] = [];
      for (const [itemId, id] of deletedMap) {
        if (!pending.has(id)) {
          deleteIds.push(id);
        } else if (!present.has(id)) {
          // Deleted on both sides (or our own delete coming back before its outbox row was closed): the
          // queued delete finds the item gone. Nothing to decide.
          pendingLocal++;
        } else {
          conflicts.push({ twentyId: id, itemId, deleted: true, etag: null, lastModified: null });
        }
      }
      if (settings.onPendingLocal && conflicts.length > 0) {
        const apply = await settings.onPendingLocal(runner, list, conflicts);
        for (const change of conflicts) {
          if (!apply.has(change.twentyId)) pendingLocal++;
          else if (change.deleted) deleteIds.push(change.twentyId);
          else toWrite.push(conflicting.get(change.twentyId)!);
        }
      } else {
        pendingLocal += conflicts.length;
      }
      const outcome = await upsertRows(
        runner,
        target,
        toWrite.map((r) => r.row),
        { chunkSize: settings.chunkSize },
      );
      const states: SyncStateRow[] = [...toWrite, ...refreshState].map((r) => {
        const canonical = canonicalFromItem(list, r.fields);
        return {
          twentyId: r.twentyId,
          itemId: r.item.id,
          etag: r.item.eTag ?? null,
          // What SharePoint holds, so write-back can PATCH only what changed (Title is derived, kept as sent).
          fields: r.fields.Title === undefined ? canonical : { ...canonical, Title: r.fields.Title },
          contentHash: hashCanonical(canonical),
        };
      });
      await upsertSyncStates(runner, ctx.schema, entity, listId!, states, { chunkSize: settings.chunkSize });
      const deleted = await deleteRecords(runner, list, target, deleteIds, (itemId, reason) =>
        skipped.push({ itemId, reason }),
      );
      await deleteSyncStates(runner, ctx.schema, entity, deleteIds);
      return {
        echoes,
        loaded: toWrite.length,
        deleted,
        pendingLocal,
        unresolved: outcome.unresolved,
        skipped,
      };
    });
    // Counted once the page is committed (a page that yielded to an application lock runs again).
    result.echoes = (result.echoes ?? 0) + page.echoes;
    result.loaded += page.loaded;
    result.deleted += page.deleted;
    result.pendingLocal += page.pendingLocal;
    unresolved.push(...page.unresolved);
    for (const s of page.skipped) skip(s.itemId, s.reason);
  }

  /** Items a person created in SharePoint carry no TwentyId: give each one and write it back. */
  async function assignTwentyIds(
    missing: {
      item: GraphListItem;
      row: Record<string, unknown>;
      twentyId?: string;
      fields: Record<string, unknown>;
    }[],
  ): Promise<void> {
    if (missing.length === 0 || list.kind === 'junction') {
      for (const m of missing) skip(m.item.id, 'junction item without both ids');
      return;
    }
    const ids = missing.map(() => randomUUID());
    // Conditional on the version we read: when two processes pull the same new item at once, only the first
    // id is written; the other answer is 412 and that process takes the id from the next delta instead of
    // giving the item a second one (two rows, one of them never in SharePoint).
    const requests: GraphRequest[] = missing.map((m, i) => ({
      method: 'PATCH',
      path: graphPath.itemFields(ctx.site.id, listId!, m.item.id),
      body: { [list.idField.name]: ids[i] },
      ...(m.item.eTag ? { headers: { 'If-Match': m.item.eTag } } : {}),
    }));
    const answers = await ctx.graph.batch<Record<string, unknown>>(requests);
    result.requests += Math.ceil(requests.length / 20);
    answers.forEach((answer, i) => {
      const m = missing[i]!;
      if (!answer.ok && answer.status === 412) {
        ctx.logger.debug('typeorm-sharepoint: another writer gave this item its TwentyId first', {
          entity,
          itemId: m.item.id,
        });
        return;
      }
      if (!answer.ok) {
        skip(m.item.id, `could not write the new TwentyId back to SharePoint: ${answer.error.message}`);
        return;
      }
      const id = ids[i]!;
      m.twentyId = id;
      m.row[list.primaryKey] = list.idField.fromSharePoint(id);
      m.fields = { ...m.fields, [list.idField.name]: id };
      const etag = answer.body?.[ODATA.etag];
      if (typeof etag === 'string') m.item = { ...m.item, eTag: etag };
      result.assignedTwentyIds += 1;
    });
  }

  if (mode === 'full') {
    result.deleted += await sweepMissing(ctx, runner, list, target, loadStart!, skippedTwentyIds, skip);
  }
  if (unresolved.length > 0) {
    // Setting the relation ids that pointed forward is still the library writing: capture stays off.
    const { dangling } = await yieldingPage(runner, () => resolveReferences(runner, target, unresolved));
    for (const d of dangling) {
      ctx.logger.warn('typeorm-sharepoint: relation points at a record that does not exist; left empty', {
        entity,
        twentyId: d.key,
        column: d.column,
        value: d.value,
      });
    }
  }
  await execute(runner, upsertCacheState(ctx.schema), [
    entity,
    listId,
    result.deltaLink ?? previous.deltaLink ?? null,
    mode === 'full' ? result.loaded + result.pendingLocal : null,
  ]);
  result.durationMs = Date.now() - started;
  ctx.emit({
    type: 'load.progress',
    entity,
    loaded: result.loaded,
    skipped: result.skipped.length,
    ...(mode === 'full' ? { total: result.loaded + result.skipped.length } : {}),
    done: true,
  });
  return result;
}

function isGone(error: unknown): boolean {
  return Boolean(error && typeof error === 'object' && (error as { status?: number }).status === 410);
}

/**
 * Deletes records (by TwentyId) in a savepoint; when a foreign key still points at one of them (another
 * table's row references it), falls back to one savepoint per record and reports the ones that stay.
 */
async function deleteRecords(
  runner: QueryRunner,
  list: ListSchema,
  target: UpsertTarget,
  ids: string[],
  skip: (itemId: string, reason: string) => void,
): Promise<number> {
  if (ids.length === 0) return 0;
  const remove = async (some: string[]) => {
    if (list.kind === 'junction') {
      const r = await execute(
        runner,
        `DELETE FROM ${quoteTablePath(list.tablePath)} e WHERE ${rowIdSql(list, 'e')} = ANY($1::text[])`,
        [some],
      );
      return r.affected ?? 0;
    }
    return deleteRows(runner, target, some);
  };
  await runner.query('SAVEPOINT tsp_delete');
  try {
    const n = await remove(ids);
    await runner.query('RELEASE SAVEPOINT tsp_delete');
    return n;
  } catch (error) {
    await runner.query('ROLLBACK TO SAVEPOINT tsp_delete');
    if ((error as { code?: string }).code !== '23503') throw error;
  }
  let deleted = 0;
  for (const id of ids) {
    await runner.query('SAVEPOINT tsp_delete_one');
    try {
      deleted += await remove([id]);
      await runner.query('RELEASE SAVEPOINT tsp_delete_one');
    } catch (error) {
      await runner.query('ROLLBACK TO SAVEPOINT tsp_delete_one');
      if ((error as { code?: string }).code !== '23503') throw error;
      skip(
        id,
        `deleted in SharePoint but still referenced in PostgreSQL (${(error as Error).message}); kept`,
      );
    }
  }
  return deleted;
}

/**
 * After a full pass: rows (and sync_state) that SharePoint did not return are gone there. Only rows that
 * were once known in SharePoint (a sync_state older than this load) are removed: a row that never had a
 * sync_state predates the attach (existing data awaiting `migrate`) and must never be destroyed by a load.
 */
/**
 * One page's transaction, capture suppressed, yielding to application row locks: it waits at most
 * `YIELD_LOCK_TIMEOUT_MS` for a lock, then rolls back and runs again, so a load never makes an application
 * write the victim of a deadlock.
 */
async function yieldingPage<T>(runner: QueryRunner, work: () => Promise<T>): Promise<T> {
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

/** What sync_state knows of a record: the last version SharePoint acknowledged, and sends not yet answered. */
interface KnownState {
  etag: string | null;
  content_hash: string | null;
  fields: Record<string, unknown> | null;
  pending: Record<string, unknown>[] | null;
}

async function syncStatesFor(
  runner: QueryRunner,
  schema: string,
  entity: string,
  ids: string[],
): Promise<Map<string, KnownState>> {
  if (ids.length === 0) return new Map();
  const found = await selectRows<KnownState & { twenty_id: string }>(
    runner,
    `SELECT twenty_id, etag, content_hash, fields, pending FROM "${schema}".sync_state
      WHERE entity = $1 AND twenty_id = ANY($2::text[])`,
    [entity, ids],
  );
  return new Map(found.map((f) => [f.twenty_id, f]));
}

/**
 * How a SharePoint entry relates to what we know SharePoint holds:
 * - `same`: the version we know (same eTag, or the same mapped values: `newEtag` when only the eTag moved);
 * - `ours`: a version we sent whose answer is not recorded yet (`sync_state.pending`, a write-back in flight);
 * - `stale`: an older version of the item than the one we know (same item, lower eTag version);
 * - `changed`: anything else — a real change made in SharePoint.
 */
function compareWithKnown(
  list: ListSchema,
  state: KnownState | undefined,
  etag: string | undefined,
  fields: Record<string, unknown>,
):
  | { kind: 'same'; newEtag: boolean; remote: Record<string, unknown> }
  | {
      kind: 'ours' | 'stale' | 'changed';
      remote: Record<string, unknown>;
    } {
  const remote = canonicalFromItem(list, fields);
  if (!state) return { kind: 'changed', remote };
  if (etag && state.etag === etag) return { kind: 'same', newEtag: false, remote };
  if (isOlderEtag(etag, state.etag)) return { kind: 'stale', remote };
  const base = state.fields ?? {};
  if (
    state.fields &&
    (state.content_hash === hashCanonical(remote) || sameContent(canonicalFromItem(list, base), remote))
  )
    return { kind: 'same', newEtag: true, remote };
  const sent = Array.isArray(state.pending) ? state.pending : [];
  if (sent.some((s) => sameContent(canonicalFromItem(list, { ...base, ...s }), remote)))
    return { kind: 'ours', remote };
  return { kind: 'changed', remote };
}

function sameContent(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return hashCanonical(a) === hashCanonical(b);
}

/** SharePoint eTags read `"{item guid},{version}"`: true when `a` is an earlier version of the same item than `b`. */
function isOlderEtag(a: string | undefined, b: string | null): boolean {
  const pa = a ? /^(?:W\/)?"?([^,"]+),(\d+)"?$/.exec(a) : null;
  const pb = b ? /^(?:W\/)?"?([^,"]+),(\d+)"?$/.exec(b) : null;
  if (!pa || !pb || pa[1]!.toLowerCase() !== pb[1]!.toLowerCase()) return false;
  return Number(pa[2]) < Number(pb[2]);
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

async function sweepMissing(
  ctx: SyncContext,
  runner: QueryRunner,
  list: ListSchema,
  target: UpsertTarget,
  loadStart: Date,
  keep: string[],
  skip: (itemId: string, reason: string) => void,
): Promise<number> {
  const s = ctx.schema;
  const entity = list.entityName;
  const skipped: { itemId: string; reason: string }[] = [];
  const deleted = await yieldingPage(runner, async () => {
    skipped.length = 0;
    const stale = await selectRows<{ id: string }>(
      runner,
      `SELECT ${rowIdSql(list, 'e')} AS id FROM ${quoteTablePath(list.tablePath)} e
        WHERE EXISTS (SELECT 1 FROM "${s}".sync_state st
                       WHERE st.entity = $1 AND st.twenty_id = ${rowIdSql(list, 'e')} AND st.synced_at < $2)
          AND NOT EXISTS (SELECT 1 FROM "${s}".outbox o WHERE o.entity = $1 AND o.twenty_id = ${rowIdSql(list, 'e')})
          AND NOT (${rowIdSql(list, 'e')} = ANY($3::text[]))`,
      [entity, loadStart, keep],
    );
    const ids = stale.map((r) => r.id);
    const count = await deleteRecords(runner, list, target, ids, (itemId, reason) =>
      skipped.push({ itemId, reason }),
    );
    await execute(
      runner,
      `DELETE FROM "${s}".sync_state st WHERE st.entity = $1 AND st.synced_at < $2
          AND NOT EXISTS (SELECT 1 FROM "${s}".outbox o WHERE o.entity = $1 AND o.twenty_id = st.twenty_id)
          AND NOT (st.twenty_id = ANY($3::text[]))`,
      [entity, loadStart, keep],
    );
    return count;
  });
  for (const x of skipped) skip(x.itemId, x.reason);
  return deleted;
}
