import { badRequest, GraphErrorResponse } from '../errors.js';
import { type ColumnRecord, formatDate, type ItemRecord, type ListRecord } from './records.js';
import { uniqueIndex, uniqueKey } from './unique-index.js';

/**
 * Checks a `fields` object against the column definitions; returns the normalised values
 * (null = clear: a null, an empty text, an empty multi-choice). `existing` is the item being updated
 * (undefined on create).
 */
export function validateFields(
  list: ListRecord,
  fields: unknown,
  existing: ItemRecord | undefined,
): Record<string, unknown> {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    throw badRequest("The request needs a 'fields' object.");
  }
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(fields as Record<string, unknown>)) {
    if (key.includes('@')) continue; // OData annotations such as Tags@odata.type
    const column = list.columns.find((c) => c.name === key);
    if (!column) throw badRequest(`Field '${key}' is not recognized.`);
    if (column.readOnly || (column.system && column.name !== 'Title')) {
      throw badRequest(`Field '${key}' is read-only.`);
    }
    out[key] = raw === null || raw === undefined ? null : validateValue(column, raw);
  }
  // `required` is enforced by SharePoint's forms only: CSOM, REST and Graph accept items that leave a
  // required column empty (SharePoint/PnP-JS-Core#376). docs/emulator.md, "Required and unique columns".
  for (const column of list.columns) {
    if (!column.enforceUniqueValues) continue;
    const v = out[column.name];
    // Empty is no value: several items may leave a unique column empty (docs/emulator.md).
    if (v === undefined || v === null || v === '') continue;
    const holder = uniqueIndex(list, column.name).get(uniqueKey(v));
    if (holder !== undefined && holder !== existing?.id && list.items.has(holder)) {
      throw new GraphErrorResponse(
        409,
        'nameAlreadyExists',
        `The list item could not be added or updated because duplicate values were found in the following field(s) in the list: [${column.name}].`,
      );
    }
  }
  return out;
}

/** One value checked against its column's facet, as SharePoint stores it. */
export function validateValue(column: ColumnRecord, raw: unknown): unknown {
  const name = column.name;
  const f = column.facetValue;
  switch (column.facet) {
    case 'text': {
      if (typeof raw !== 'string') throw badRequest(`Field '${name}' expects a text value.`);
      const max = typeof f.maxLength === 'number' ? f.maxLength : f.allowMultipleLines ? undefined : 255;
      if (max !== undefined && raw.length > max) {
        throw badRequest(`Field '${name}' is longer than its maximum length of ${max} characters.`);
      }
      // SharePoint keeps no empty text: '' is no value, left out of the item's fields (docs/emulator.md).
      return raw === '' ? null : raw;
    }
    case 'number':
    case 'currency': {
      if (typeof raw !== 'number' || !Number.isFinite(raw))
        throw badRequest(`Field '${name}' expects a number.`);
      if (typeof f.minimum === 'number' && raw < f.minimum) {
        throw badRequest(`Field '${name}' must be at least ${f.minimum}.`);
      }
      if (typeof f.maximum === 'number' && raw > f.maximum) {
        throw badRequest(`Field '${name}' must be at most ${f.maximum}.`);
      }
      // A number column is SQL Server `float`: 15 significant digits (docs/emulator.md).
      return Number(raw.toPrecision(15));
    }
    case 'boolean':
      if (typeof raw !== 'boolean') throw badRequest(`Field '${name}' expects true or false.`);
      return raw;
    case 'dateTime': {
      const ms = typeof raw === 'string' ? Date.parse(raw) : Number.NaN;
      if (Number.isNaN(ms)) throw badRequest(`Field '${name}' expects an ISO 8601 date and time.`);
      return formatDate(ms);
    }
    case 'choice': {
      const choices = Array.isArray(f.choices) ? (f.choices as unknown[]) : [];
      if (f.displayAs === 'checkBoxes') {
        // A multi-choice column: a collection of choices; an empty one is no value.
        if (!Array.isArray(raw) || !raw.every((v) => typeof v === 'string'))
          throw badRequest(`Field '${name}' expects a collection of its choices.`);
        const bad = f.allowTextEntry ? undefined : raw.find((v) => !choices.includes(v));
        if (bad !== undefined)
          throw badRequest(
            `Field '${name}' does not allow the value '${bad}' (choices: ${choices.join(', ')}).`,
          );
        return raw.length === 0 ? null : [...raw];
      }
      if (typeof raw !== 'string') throw badRequest(`Field '${name}' expects one of its choices.`);
      if (!f.allowTextEntry && !choices.includes(raw)) {
        throw badRequest(
          `Field '${name}' does not allow the value '${raw}' (choices: ${choices.join(', ')}).`,
        );
      }
      return raw;
    }
    default:
      return raw;
  }
}
