import { createHash } from 'node:crypto';

/**
 * The content hash of a record: the one definition shared by the loader, verify, write-back and inbound,
 * beside the record key (key.ts). It hashes SharePoint field values, so both sides (a PostgreSQL row, a Graph
 * item) compare once brought to the same canonical shape (items.ts: `canonicalFromRow`, `canonicalFromItem`).
 */

/** Canonical form of a field value: Dates as ISO text, nested objects with sorted keys; null/undefined dropped by the caller. */
function canonicalValue(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(canonicalValue);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = canonicalValue(v);
    }
    return out;
  }
  return value;
}

/**
 * Stable JSON of SharePoint field values (keys sorted, null and undefined omitted — SharePoint omits
 * empty fields, so "absent" and "null" must hash the same; OData annotations ignored: `@odata.*` and per-field ones such as `Tags@odata.type`).
 */
export function stableFieldsJson(fields: Record<string, unknown>): string {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(fields).sort()) {
    if (k.includes('@')) continue;
    const v = fields[k];
    if (v === null || v === undefined) continue;
    out[k] = canonicalValue(v);
  }
  return JSON.stringify(out);
}

/** sha256 hex of `stableFieldsJson(fields)`: equal hashes mean equal mapped content. */
export function contentHash(fields: Record<string, unknown>): string {
  return createHash('sha256').update(stableFieldsJson(fields)).digest('hex');
}
