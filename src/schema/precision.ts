import type { FieldSchema, ListSchema } from './types.js';

/**
 * "What SharePoint keeps": the one rule that makes a record read the same before a drop and after the
 * rebuild (docs/schema.md, "What SharePoint keeps"). PostgreSQL keeps more than SharePoint in a few places;
 * the capture rounds the row to what SharePoint keeps **in the writing transaction** (a BEFORE trigger), so
 * an application never reads a value SharePoint does not have:
 *
 * - `seconds` — date-times (`timestamp`, `timestamptz`, create/update/delete dates): SharePoint keeps whole
 *   seconds in UTC, so the fraction is dropped (truncated, never rounded up: `…17.999Z` → `…17Z`).
 * - `digits15` — number columns (`numeric(p, s)` with p ≤ 15, `real`, `double precision`; an unconstrained
 *   `numeric` is a text column holding the exact decimal, docs/schema.md): SharePoint stores
 *   a number column as SQL Server `float`, whose precision is 15 significant digits, so the value is rounded
 *   to 15 significant digits (`0.1 + 0.2` → `0.3`).
 * - `json` — a `json` column keeps its text as written; SharePoint keeps the value (keys sorted), so the text
 *   becomes PostgreSQL's canonical form (`{"b":1, "a":2}` → `{"a": 2, "b": 1}`), as a rebuild writes it.
 * - `emptyText` — a nullable text column: SharePoint has no empty string (it leaves empty fields out), so `''`
 *   becomes NULL. (A text column that refuses NULL keeps `''`: a rebuild writes `''` there.)
 *
 * Integers, booleans, dates, choices and text are kept exactly (text that SharePoint could not keep — too
 * long — is refused before commit by validation, not shortened).
 */
export type KeptRule = 'seconds' | 'digits15' | 'json' | 'emptyText';

/** SharePoint number columns keep this many significant digits (SQL Server `float`, 8 bytes). */
export const SHAREPOINT_NUMBER_DIGITS = 15;

/** The rule that applies to one field, if SharePoint keeps less than PostgreSQL for it. */
export function keptRule(field: FieldSchema): KeptRule | undefined {
  switch (field.kind) {
    case 'dateTime':
      return 'seconds';
    case 'number':
      return 'digits15';
    case 'json':
      return 'json';
    case 'text':
    case 'note':
      return field.nullable ? 'emptyText' : undefined;
    default:
      return undefined;
  }
}

/** PostgreSQL column names of a list, grouped by rule (what the capture's BEFORE trigger rounds). */
export type KeptColumns = Record<KeptRule, string[]>;

export function keptColumns(list: ListSchema): KeptColumns {
  const out: KeptColumns = { seconds: [], digits15: [], json: [], emptyText: [] };
  if (list.kind === 'junction') return out;
  for (const field of list.fields ?? []) {
    const rule = keptRule(field);
    if (rule && !out[rule].includes(field.databaseName)) out[rule].push(field.databaseName);
  }
  return out;
}

/** True when the list has no column SharePoint keeps less of (its table needs no rounding trigger). */
export function keepsEverything(columns: KeptColumns): boolean {
  return Object.values(columns).every((names) => names.length === 0);
}

/**
 * The same rule in JavaScript, for a value as the driver or the entity holds it: what an application reads
 * back once the row is committed (and after any rebuild). `null`/`undefined` stay as they are.
 */
export function keptBySharePoint(field: FieldSchema, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  switch (keptRule(field)) {
    case 'seconds': {
      const ms = (value instanceof Date ? value : new Date(String(value))).getTime();
      return Number.isNaN(ms) ? value : new Date(Math.floor(ms / 1000) * 1000);
    }
    case 'digits15': {
      const n = typeof value === 'number' ? value : Number(value);
      if (!Number.isFinite(n)) return value;
      const kept = Number(n.toPrecision(SHAREPOINT_NUMBER_DIGITS));
      return typeof value === 'number' ? kept : String(kept);
    }
    case 'emptyText':
      return value === '' ? null : value;
    default:
      return value;
  }
}
