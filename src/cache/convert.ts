import type { DataSource } from 'typeorm';
import { createValidator, emptyValue, type FieldSchema, type ListSchema } from '../schema/index.js';
import {
  contentHash,
  quoteIdentifier,
  type SyncStateRow,
  type UpsertTarget,
  upsertTargetFor,
} from '../store/rows.js';
import { junctionTwentyId } from '../writeback/index.js';

/** A SharePoint list item as the items and delta endpoints return it (only what the loader reads). */
export interface GraphListItem {
  id: string;
  eTag?: string;
  lastModifiedDateTime?: string;
  fields?: Record<string, unknown>;
  deleted?: { state?: string };
}

/** The SharePoint fields the cache maps: the TwentyId column and every mapped field (not the derived Title). */
export function mappedFields(list: ListSchema): FieldSchema[] {
  return [list.idField, ...list.fields.filter((f) => f.name !== list.idField.name)];
}

/** `$select` for `$expand=fields(...)`: only what the entity maps (less payload, less RU time). */
export function selectClause(list: ListSchema): string {
  const names = mappedFields(list).map((f) => f.name);
  if (list.titleSource) names.push('Title');
  return names.join(',');
}

/**
 * Canonical SharePoint values of the mapped fields, for hashing and field-by-field comparison: each
 * value goes through the field's own conversion so that both sides (a PostgreSQL row, a Graph item)
 * land in the same shape (e.g. `1` and `"1"` for a numeric column, two spellings of one instant).
 */
export function canonicalFromRow(list: ListSchema, row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of mappedFields(list)) {
    if (list.kind === 'junction' && field === list.idField) continue;
    const value = row[field.databaseName];
    // '' and NULL are one value to SharePoint (it leaves empty fields out).
    out[field.name] =
      value === null || value === undefined || value === '' ? null : field.toSharePoint(value);
  }
  if (list.kind === 'junction') out[list.idField.name] = junctionIdOfRow(list, row);
  return out;
}

export function canonicalFromItem(
  list: ListSchema,
  fields: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of mappedFields(list)) {
    const raw = fields[field.name];
    if (raw === null || raw === undefined || raw === '') {
      out[field.name] = null;
      continue;
    }
    try {
      const bound = field.fromSharePoint(raw);
      out[field.name] = bound === null || bound === undefined ? null : field.toSharePoint(bound);
    } catch {
      out[field.name] = raw; // unconvertible values still compare (and differ) as they are
    }
  }
  return out;
}

/** The content hash of a record's mapped fields (sha256 of stable JSON), same for both sides. */
export function hashCanonical(fields: Record<string, unknown>): string {
  return contentHash(fields);
}

function junctionIdOfRow(list: ListSchema, row: Record<string, unknown>): string | null {
  const j = list.junction!;
  const owner = row[j.ownerField.databaseName];
  const inverse = row[j.inverseField.databaseName];
  return owner == null || inverse == null ? null : junctionTwentyId(String(owner), String(inverse));
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
): SyncStateRow {
  const canonical = canonicalFromItem(list, fields);
  return {
    twentyId,
    itemId: item.id,
    etag: item.eTag ?? null,
    fields: fields.Title === undefined ? canonical : { ...canonical, Title: fields.Title },
    contentHash: hashCanonical(canonical),
  };
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

export type ConvertedItem =
  | { ok: true; twentyId: string | undefined; row: Record<string, unknown>; fields: Record<string, unknown> }
  | { ok: false; reason: string };

/**
 * Graph item fields → a row keyed by PostgreSQL column name, or the reason it cannot be stored. Every
 * mapped field converts on its own (composite columns land in their flattened columns, relation ids in
 * their join columns); then the same validator write-back uses checks the whole row (required,
 * maxLength, ranges, choices), so a value that cannot fit is reported instead of failing the chunk.
 */
export function makeItemConverter(list: ListSchema): (fields: Record<string, unknown>) => ConvertedItem {
  const validator = createValidator(list);
  const fieldsToRead = list.fields.filter((f) => f.name !== list.idField.name);
  return (fields) => {
    const row: Record<string, unknown> = {};
    const problems: string[] = [];
    for (const field of fieldsToRead) {
      const raw = fields[field.name];
      if (raw === undefined || raw === null || raw === '') {
        row[field.databaseName] = emptyValue(field);
        continue;
      }
      try {
        row[field.databaseName] = field.fromSharePoint(raw);
      } catch (error) {
        problems.push(`${field.name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    let twentyId: string | undefined;
    if (list.kind === 'junction') {
      twentyId = junctionIdOfRow(list, row) ?? undefined;
    } else {
      const rawId = fields[list.idField.name];
      if (typeof rawId === 'string' && rawId !== '') {
        twentyId = rawId;
        try {
          row[list.primaryKey] = list.idField.fromSharePoint(rawId);
        } catch (error) {
          problems.push(`${list.idField.name}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }
    if (problems.length > 0) return { ok: false, reason: problems.join('; ') };
    if (twentyId !== undefined || list.kind === 'junction') {
      const problem = validationProblem(() => validator.validateRow(row));
      if (problem) return { ok: false, reason: problem };
    }
    return { ok: true, twentyId, row, fields };
  };
}

/** Runs a validator; returns its message instead of throwing (per-item skip-and-report). */
export function validationProblem(validate: () => void): string | undefined {
  try {
    validate();
    return undefined;
  } catch (error) {
    if (error && typeof error === 'object' && 'field' in error && 'rule' in error) {
      const e = error as { field: string; rule: string; message: string };
      return `${e.field}: ${e.rule} (${e.message})`;
    }
    return error instanceof Error ? error.message : String(error);
  }
}

/** Upsert target with the relation columns marked, so a row whose target is not loaded yet still lands. */
export function referenceAwareTarget(dataSource: DataSource, list: ListSchema): UpsertTarget {
  const target = upsertTargetFor(list);
  const references: NonNullable<UpsertTarget['references']> = [];
  const add = (field: FieldSchema, targetEntity: Function | string) => {
    try {
      const meta = dataSource.getMetadata(targetEntity);
      const pk = meta.primaryColumns[0];
      if (pk)
        references.push({
          column: field.databaseName,
          targetTablePath: meta.tablePath,
          targetColumn: pk.databaseName,
        });
    } catch {
      // target not registered in this DataSource: no foreign key to respect
    }
  };
  if (list.kind === 'junction' && list.junction) {
    const j = list.junction;
    add(j.ownerField, j.ownerEntityName);
    add(j.inverseField, j.inverseEntityName);
  } else {
    for (const relation of list.relations) {
      if (relation.field && relation.target) add(relation.field, relation.target);
      else if (relation.field && relation.targetEntityName) add(relation.field, relation.targetEntityName);
    }
  }
  return { ...target, references };
}

/** Entity names this list's rows point at (to load them first). */
export function dependenciesOf(list: ListSchema): string[] {
  if (list.kind === 'junction' && list.junction)
    return [list.junction.ownerEntityName, list.junction.inverseEntityName];
  return list.relations.filter((r) => r.field && r.targetEntityName).map((r) => r.targetEntityName as string);
}
