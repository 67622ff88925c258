import { ConversionError } from './errors.js';
/**
 * PostgreSQL one-dimensional array literals (`{a,"b c",NULL}`). node-pg parses arrays of built-in types
 * (`text[]`) into JavaScript arrays but returns arrays of user types — every `enum[]`, Twenty's
 * MULTI_SELECT — as their text literal. The library reads rows with plain SQL, so it parses them here.
 */
export function parsePgArray(literal: string): (string | null)[] {
  const s = literal.trim();
  if (!s.startsWith('{') || !s.endsWith('}'))
    throw new ConversionError(`${JSON.stringify(literal)} is not an array`);
  const out: (string | null)[] = [];
  let i = 1;
  const end = s.length - 1;
  if (i === end) return out;
  while (i <= end) {
    let value = '';
    let quoted = false;
    if (s[i] === '"') {
      quoted = true;
      i++;
      while (i < end && s[i] !== '"') {
        if (s[i] === '\\') i++;
        value += s[i];
        i++;
      }
      i++; // closing quote
    } else {
      while (i < end && s[i] !== ',') {
        if (s[i] === '{') throw new ConversionError(`${JSON.stringify(literal)} has more than one dimension`);
        value += s[i];
        i++;
      }
      value = value.trim();
    }
    out.push(!quoted && value.toUpperCase() === 'NULL' ? null : value);
    if (s[i] !== ',' && i < end)
      throw new ConversionError(`${JSON.stringify(literal)} is not an array literal`);
    i++;
  }
  return out;
}

/** A value of an array column as the driver or an entity holds it → a JavaScript array. */
export function arrayOf(value: unknown): (string | null)[] {
  if (Array.isArray(value)) return value.map((v) => (v === null || v === undefined ? null : String(v)));
  if (typeof value === 'string') return parsePgArray(value);
  throw new ConversionError(`${JSON.stringify(value)} is not an array`);
}
