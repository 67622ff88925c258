import { InternalError } from '../errors/index.js';
import { emptyValue } from './fields.js';
import { twentyIdOfRow } from './key.js';
import type { ListSchema } from './types.js';

/** Longest value of SharePoint's single-line `Title`. */
const TITLE_MAX = 255;

/**
 * A PostgreSQL row (keyed by column name, values as the driver returns them) → the Graph `fields` of its
 * item: the TwentyId, every mapped field (null when empty) and the derived `Title`.
 */
export function rowToFields(list: ListSchema, row: Record<string, unknown>): Record<string, unknown> {
  const twentyId = twentyIdOfRow(list, row);
  if (twentyId === undefined) {
    throw new InternalError(
      `typeorm-sharepoint: ${list.entityName} row without a key cannot be sent to SharePoint`,
    );
  }
  const fields: Record<string, unknown> = { [list.idField.name]: twentyId };
  for (const field of list.fields) {
    const value = row[field.databaseName];
    fields[field.name] = value === null || value === undefined ? null : field.toSharePoint(value);
    // Graph takes a multi-choice value only with its collection type (annotations are never hashed).
    if (field.kind === 'multiChoice' && Array.isArray(fields[field.name]))
      fields[`${field.name}@odata.type`] = 'Collection(Edm.String)';
  }
  const title = list.titleSource ? fields[list.titleSource.name] : null;
  fields.Title =
    title === null || title === undefined || title === '' ? twentyId : String(title).slice(0, TITLE_MAX);
  return fields;
}

/**
 * Graph `fields` of an item → a row keyed by PostgreSQL column name. A mapped field absent from `fields`
 * is null (Graph leaves empty fields out). Throws when a value does not fit its column.
 */
export function fieldsToRow(list: ListSchema, fields: Record<string, unknown>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const field of list.fields) {
    const raw = fields[field.name];
    row[field.databaseName] =
      raw === null || raw === undefined || raw === '' ? emptyValue(field) : field.fromSharePoint(raw);
  }
  if (list.kind === 'entity') {
    const id = fields[list.idField.name];
    if (id !== null && id !== undefined && id !== '') row[list.primaryKey] = list.idField.fromSharePoint(id);
  }
  return row;
}
