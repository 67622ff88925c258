import { createHash } from 'node:crypto';
import type { ListSchema } from './types.js';

/**
 * The record key: how a row of a synced table becomes its TwentyId (the value of the list's id column in
 * SharePoint, the key of `outbox` and `sync_state`). An entity row's TwentyId is its primary key as text; a
 * junction (ManyToMany) row's is a UUID-shaped md5 of `owner:inverse`. The one home of that rule: in
 * JavaScript (`junctionTwentyId`, `twentyIdOfRow`), in SQL (`rowIdSql`) and in the capture trigger, which
 * takes `keyColumns` and computes `md5(owner || ':' || inverse)::uuid` (store/capture.ts).
 */

/** TwentyId of a junction (ManyToMany) row: a UUID-shaped md5 of `owner:inverse`, as the capture trigger computes it. */
export function junctionTwentyId(ownerId: string, inverseId: string): string {
  const hex = createHash('md5').update(`${ownerId}:${inverseId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Key columns the TwentyId is computed from: the primary key, or the pair of a junction table. */
export function keyColumns(list: ListSchema): string[] {
  if (list.kind === 'junction' && list.junction) {
    return [list.junction.ownerField.databaseName, list.junction.inverseField.databaseName];
  }
  return [list.primaryKey];
}

/** The TwentyId of a row (keyed by PostgreSQL column names); undefined while its key is incomplete. */
export function twentyIdOfRow(list: ListSchema, row: Record<string, unknown>): string | undefined {
  if (list.kind === 'junction' && list.junction) {
    const owner = row[list.junction.ownerField.databaseName];
    const inverse = row[list.junction.inverseField.databaseName];
    return owner == null || inverse == null ? undefined : junctionTwentyId(String(owner), String(inverse));
  }
  const id = row[list.primaryKey];
  return id == null ? undefined : String(id);
}

/** The SQL expression giving a row's TwentyId as text (junction rows: md5 of the pair, as `junctionTwentyId`). */
export function rowIdSql(list: ListSchema, alias: string): string {
  if (list.kind === 'junction' && list.junction) {
    const o = `${alias}.${quoteIdentifier(list.junction.ownerField.databaseName)}::text`;
    const i = `${alias}.${quoteIdentifier(list.junction.inverseField.databaseName)}::text`;
    return `md5(${o} || ':' || ${i})::uuid::text`;
  }
  return `${alias}.${quoteIdentifier(list.primaryKey)}::text`;
}

/** A PostgreSQL identifier, quoted. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes a TypeORM `tablePath` (`table` or `schema.table`) as a SQL identifier. */
export function quoteTablePath(tablePath: string): string {
  return tablePath
    .split('.')
    .map((part) => quoteIdentifier(part.replace(/^"|"$/g, '')))
    .join('.');
}
