import { emptyValue } from './fields.js';
import { twentyIdOfRow } from './key.js';
import type { FieldSchema, ListSchema } from './types.js';
import { createValidator } from './validate.js';

/** A SharePoint list item as the items and delta endpoints return it (only what the library reads). */
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
 * Canonical SharePoint values of the mapped fields, for hashing (`contentHash`) and field-by-field
 * comparison: each value goes through the field's own conversion so that both sides (a PostgreSQL row, a
 * Graph item) land in the same shape (e.g. `1` and `"1"` for a numeric column, two spellings of one instant).
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
  if (list.kind === 'junction') out[list.idField.name] = twentyIdOfRow(list, row) ?? null;
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
      twentyId = twentyIdOfRow(list, row);
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
