import type { QueryRunner } from 'typeorm';
import { InternalError } from '../errors/index.js';
import {
  canonicalFromItem,
  contentHash,
  type GraphListItem,
  keyColumns,
  type ListSchema,
  quoteIdentifier,
  quoteTablePath,
} from '../schema/index.js';
import { type Db, execute, rows as selectRows } from './db.js';
import * as sql from './sql.js';

/**
 * Shared bulk writes into the application's entity tables and into `sync_state`. The cache loader,
 * write-back (412 path) and inbound all go through here, so there is one way to write many rows: one
 * statement per chunk, rows passed as a single jsonb parameter and typed by PostgreSQL itself through
 * the table's row type (`jsonb_populate_recordset(NULL::table, $1)`). That avoids the 65,535-parameter
 * limit of multi-row VALUES and per-column casts, and measured faster for wide rows (docs/performance.md).
 *
 * Callers run these inside a transaction that called `suppressCapture(runner)` first, so the capture
 * trigger does not queue the library's own writes for write-back.
 */

export interface TableColumnTypes {
  /** databaseName → `format_type` (e.g. `uuid`, `character varying(255)`, `jsonb`). */
  types: Map<string, string>;
}

const columnTypeCache = new WeakMap<object, Map<string, Promise<Map<string, string>>>>();

/** Column types of a table as PostgreSQL knows them (cached per DataSource). */
export async function columnTypes(db: Db, tablePath: string): Promise<Map<string, string>> {
  const key = 'connection' in db ? db.connection : db;
  let perSource = columnTypeCache.get(key);
  if (!perSource) {
    perSource = new Map();
    columnTypeCache.set(key, perSource);
  }
  let found = perSource.get(tablePath);
  if (!found) {
    found = selectRows<{ name: string; type: string }>(
      db,
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type
         FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
      [quoteTablePath(tablePath)],
    ).then((list) => new Map(list.map((c) => [c.name, c.type])));
    found.catch(() => perSource.delete(tablePath));
    perSource.set(tablePath, found);
  }
  return found;
}

/** Forgets cached column types (after a schema change in tests, or a dropped database). */
export function forgetColumnTypes(db: Db): void {
  columnTypeCache.delete('connection' in db ? db.connection : db);
}

/** Converts one bound value to what `jsonb_populate_recordset` needs for a column of `type`. */
function toJsonValue(value: unknown, type: string | undefined): unknown {
  if (value === undefined || value === null) return null;
  if (type === 'json' || type === 'jsonb') {
    // A jsonb column takes the JSON value as is: a JSON *text* must become the value it encodes.
    if (typeof value === 'string') {
      try {
        return JSON.parse(value);
      } catch {
        return value;
      }
    }
    return value;
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  return value;
}

/** Largest number of rows sent in one statement; callers may pass a smaller chunk. */
export const DEFAULT_CHUNK_SIZE = 1000;

/** Table, key and optional per-column handling for one bulk upsert. */
export interface UpsertTarget {
  tablePath: string;
  /** Conflict target: the primary key column(s). */
  keyColumns: string[];
  /**
   * Relation columns whose target row may not be loaded yet: written only when the target exists,
   * otherwise NULL now and reported back so the caller can set them once the target arrives.
   */
  references?: { column: string; targetTablePath: string; targetColumn: string }[];
}

export function upsertTargetFor(list: ListSchema): UpsertTarget {
  return { tablePath: list.tablePath, keyColumns: keyColumns(list) };
}

export interface UpsertOutcome {
  written: number;
  /** References that pointed at rows not present yet (NULL for now). */
  unresolved: { key: string; column: string; value: string }[];
}

/**
 * `INSERT … ON CONFLICT (<key>) DO UPDATE` of many rows (keyed by PostgreSQL column name) in chunks.
 * Rows with the same key in one call: the last one wins (PostgreSQL refuses to update a row twice in
 * one statement, and a delta feed may repeat an item).
 */
export async function upsertRows(
  runner: QueryRunner,
  list: ListSchema | UpsertTarget,
  rowsToWrite: Record<string, unknown>[],
  options: { chunkSize?: number } = {},
): Promise<UpsertOutcome> {
  const target = 'keyColumns' in list ? list : upsertTargetFor(list);
  const outcome: UpsertOutcome = { written: 0, unresolved: [] };
  if (rowsToWrite.length === 0) return outcome;
  const types = await columnTypes(runner, target.tablePath);
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const deduped = dedupeBy(rowsToWrite, (row) => target.keyColumns.map((k) => String(row[k])).join('\u0000'));
  for (let start = 0; start < deduped.length; start += chunkSize) {
    const chunk = deduped.slice(start, start + chunkSize);
    const result = await upsertChunk(runner, target, types, chunk);
    outcome.written += result.written;
    outcome.unresolved.push(...result.unresolved);
  }
  return outcome;
}

async function upsertChunk(
  runner: QueryRunner,
  target: UpsertTarget,
  types: Map<string, string>,
  chunk: Record<string, unknown>[],
): Promise<UpsertOutcome> {
  const columns = [...new Set(chunk.flatMap((row) => Object.keys(row)))].filter((c) => types.has(c));
  for (const key of target.keyColumns) {
    if (!columns.includes(key))
      throw new InternalError(
        `typeorm-sharepoint: upsert into ${target.tablePath} without key column ${key}`,
      );
  }
  const payload = chunk.map((row) => {
    const out: Record<string, unknown> = {};
    for (const c of columns) out[c] = toJsonValue(row[c], types.get(c));
    return out;
  });
  const table = quoteTablePath(target.tablePath);
  const references = (target.references ?? []).filter((r) => columns.includes(r.column));
  const selectList = columns
    .map((c) => {
      const ref = references.find((r) => r.column === c);
      const col = `r.${quoteIdentifier(c)}`;
      if (!ref) return col;
      return `CASE WHEN ${col} IS NULL OR EXISTS (SELECT 1 FROM ${quoteTablePath(ref.targetTablePath)} t WHERE t.${quoteIdentifier(ref.targetColumn)} = ${col}) THEN ${col} END`;
    })
    .join(', ');
  const keyList = target.keyColumns.map(quoteIdentifier).join(', ');
  const updatable = columns.filter((c) => !target.keyColumns.includes(c));
  const onConflict =
    updatable.length === 0
      ? 'DO NOTHING'
      : `DO UPDATE SET ${updatable.map((c) => `${quoteIdentifier(c)} = EXCLUDED.${quoteIdentifier(c)}`).join(', ')}`;
  const unresolvedSelect = references.map(
    (ref) =>
      `SELECT ${target.keyColumns.map((k) => `r.${quoteIdentifier(k)}::text`).join(` || ',' || `)} AS key, ${quoteLiteral(ref.column)} AS column_name, r.${quoteIdentifier(ref.column)}::text AS value
         FROM r WHERE r.${quoteIdentifier(ref.column)} IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM ${quoteTablePath(ref.targetTablePath)} t WHERE t.${quoteIdentifier(ref.targetColumn)} = r.${quoteIdentifier(ref.column)})`,
  );
  const sql = `WITH r AS (SELECT * FROM jsonb_populate_recordset(NULL::${table}, $1::jsonb)),
    written AS (
      INSERT INTO ${table} (${columns.map(quoteIdentifier).join(', ')})
      SELECT ${selectList} FROM r
      ON CONFLICT (${keyList}) ${onConflict}
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM written)::int AS written, NULL::text AS key, NULL::text AS column_name, NULL::text AS value
    ${unresolvedSelect.map((s) => `UNION ALL SELECT NULL::int, u.key, u.column_name, u.value FROM (${s}) u`).join('\n')}`;
  const result = await selectRows<{
    written: number | null;
    key: string | null;
    column_name: string | null;
    value: string | null;
  }>(runner, sql, [JSON.stringify(payload)]);
  const outcome: UpsertOutcome = { written: 0, unresolved: [] };
  for (const row of result) {
    if (row.written !== null) outcome.written = row.written;
    else if (row.key !== null && row.column_name !== null && row.value !== null) {
      outcome.unresolved.push({ key: row.key, column: row.column_name, value: row.value });
    }
  }
  return outcome;
}

function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Sets relation columns that were left NULL because their target row was not loaded yet, now that it
 * may be. Returns the references that still point nowhere (the target does not exist in SharePoint).
 */
export async function resolveReferences(
  runner: QueryRunner,
  target: UpsertTarget,
  pending: { key: string; column: string; value: string }[],
): Promise<{ resolved: number; dangling: { key: string; column: string; value: string }[] }> {
  if (pending.length === 0 || target.keyColumns.length !== 1) return { resolved: 0, dangling: pending };
  const table = quoteTablePath(target.tablePath);
  const key = quoteIdentifier(target.keyColumns[0]!);
  let resolved = 0;
  const dangling: { key: string; column: string; value: string }[] = [];
  for (const ref of target.references ?? []) {
    const forColumn = pending.filter((p) => p.column === ref.column);
    if (forColumn.length === 0) continue;
    const col = quoteIdentifier(ref.column);
    const refTable = quoteTablePath(ref.targetTablePath);
    const refCol = quoteIdentifier(ref.targetColumn);
    for (let start = 0; start < forColumn.length; start += DEFAULT_CHUNK_SIZE * 10) {
      const part = forColumn.slice(start, start + DEFAULT_CHUNK_SIZE * 10);
      const updated = await selectRows<{ key: string }>(
        runner,
        `UPDATE ${table} AS e SET ${col} = t.${refCol}
           FROM unnest($1::text[], $2::text[]) AS p(key, value)
           JOIN ${refTable} t ON t.${refCol}::text = p.value
          WHERE e.${key}::text = p.key
          RETURNING e.${key}::text AS key`,
        [part.map((p) => p.key), part.map((p) => p.value)],
      );
      resolved += updated.length;
      const done = new Set(updated.map((u) => u.key));
      dangling.push(...part.filter((p) => !done.has(p.key)));
    }
  }
  return { resolved, dangling };
}

/** Deletes rows by primary key (as text; compared through the column's own type). */
export async function deleteRows(
  runner: QueryRunner,
  list: ListSchema | UpsertTarget,
  twentyIds: string[],
): Promise<number> {
  if (twentyIds.length === 0) return 0;
  const target = 'keyColumns' in list ? list : upsertTargetFor(list);
  const types = await columnTypes(runner, target.tablePath);
  const table = quoteTablePath(target.tablePath);
  if (target.keyColumns.length !== 1) {
    // Junction rows are addressed by the pair's TwentyId, which only the caller can map back to the pair.
    throw new InternalError(
      `typeorm-sharepoint: deleteRows on ${target.tablePath} needs a single-column key`,
    );
  }
  const key = target.keyColumns[0]!;
  const type = types.get(key) ?? 'text';
  let deleted = 0;
  for (let start = 0; start < twentyIds.length; start += DEFAULT_CHUNK_SIZE * 10) {
    const result = await execute(
      runner,
      `DELETE FROM ${table} WHERE ${quoteIdentifier(key)} = ANY($1::${type}[])`,
      [twentyIds.slice(start, start + DEFAULT_CHUNK_SIZE * 10)],
    );
    deleted += result.affected ?? 0;
  }
  return deleted;
}

function dedupeBy<T>(items: T[], key: (item: T) => string): T[] {
  const byKey = new Map<string, T>();
  for (const item of items) {
    const k = key(item);
    byKey.delete(k); // re-insert so the kept copy sits where the last occurrence was
    byKey.set(k, item);
  }
  return byKey.size === items.length ? items : [...byKey.values()];
}

// ---------------------------------------------------------------------------------------------------
// sync_state in bulk (TwentyId → item id, eTag, fields as loaded, content hash).

/** What a load or a relation fetch records in sync_state for one record (written by `upsertSyncStates`). */
export interface SyncStateUpdate {
  twentyId: string;
  itemId: string | null;
  etag: string | null;
  fields: Record<string, unknown> | null;
  contentHash: string | null;
}

/**
 * What sync_state records of an item just read from SharePoint: its id, eTag, the mapped values SharePoint
 * holds (so write-back can PATCH only what changed; the derived Title is kept as it was sent) and their
 * content hash. The one rule for every path that stores items in the cache (loads, relation fetches).
 */
export function syncStateOfItem(
  list: ListSchema,
  twentyId: string,
  item: Pick<GraphListItem, 'id' | 'eTag'>,
  fields: Record<string, unknown>,
  /** `canonicalFromItem(list, fields)` when the caller has it already (a load computes it once per item). */
  canonical: Record<string, unknown> = canonicalFromItem(list, fields),
): SyncStateUpdate {
  return {
    twentyId,
    itemId: item.id,
    etag: item.eTag ?? null,
    fields: fields.Title === undefined ? canonical : { ...canonical, Title: fields.Title },
    contentHash: contentHash(canonical),
  };
}

export async function upsertSyncStates(
  runner: QueryRunner,
  schema: string,
  entity: string,
  listId: string,
  states: SyncStateUpdate[],
  options: { chunkSize?: number } = {},
): Promise<void> {
  if (states.length === 0) return;
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const deduped = dedupeBy(states, (s) => s.twentyId);
  for (let start = 0; start < deduped.length; start += chunkSize) {
    const chunk = deduped.slice(start, start + chunkSize).map((s) => ({
      twenty_id: s.twentyId,
      item_id: s.itemId,
      etag: s.etag,
      fields: s.fields,
      content_hash: s.contentHash,
    }));
    await execute(runner, sql.upsertLoadedSyncStates(schema), [entity, listId, JSON.stringify(chunk)]);
  }
}

export async function deleteSyncStates(
  runner: QueryRunner,
  schema: string,
  entity: string,
  twentyIds: string[],
): Promise<void> {
  if (twentyIds.length === 0) return;
  await execute(runner, sql.deleteSyncStatesOf(schema), [entity, twentyIds]);
}

/** The sync_state of these records of one entity, keyed by TwentyId. */
export async function syncStatesOf(
  db: Db,
  schema: string,
  entity: string,
  twentyIds: string[],
): Promise<Map<string, sql.SyncStateRow>> {
  if (twentyIds.length === 0) return new Map();
  const found = await selectRows<sql.SyncStateRow>(db, sql.selectSyncStatesOf(schema), [entity, twentyIds]);
  return new Map(found.map((f) => [f.twenty_id, f]));
}

/** The database's clock now: the start of a read, for `itemsDeletedSince`. */
export async function databaseNow(db: Db): Promise<Date> {
  return (await selectRows<{ t: Date }>(db, sql.databaseNow))[0]!.t;
}

/**
 * Items among `itemIds` that the write-back saw deleted at or after `since` (a read's start): what that read
 * returned of them is stale, and must not be stored again.
 */
export async function itemsDeletedSince(
  db: Db,
  schema: string,
  listId: string,
  itemIds: string[],
  since: Date,
): Promise<Set<string>> {
  if (itemIds.length === 0) return new Set();
  const found = await selectRows<{ item_id: string }>(db, sql.itemsDeletedSince(schema), [
    listId,
    itemIds,
    since,
  ]);
  return new Set(found.map((r) => r.item_id));
}

/** item id → TwentyId for items of one list (delta deletions carry only the item id). */
export async function twentyIdsForItems(
  db: Db,
  schema: string,
  listId: string,
  itemIds: string[],
): Promise<Map<string, string>> {
  if (itemIds.length === 0) return new Map();
  const found = await selectRows<{ item_id: string; twenty_id: string }>(db, sql.twentyIdsOfItems(schema), [
    listId,
    itemIds,
  ]);
  return new Map(found.map((r) => [r.item_id, r.twenty_id]));
}

/** Which of these records have a change waiting in the outbox (a load must not overwrite them). */
export async function pendingOutboxIds(
  db: Db,
  schema: string,
  entity: string,
  twentyIds: string[],
): Promise<Set<string>> {
  if (twentyIds.length === 0) return new Set();
  const found = await selectRows<{ twenty_id: string }>(db, sql.outboxRecords(schema), [entity, twentyIds]);
  return new Set(found.map((r) => r.twenty_id));
}
