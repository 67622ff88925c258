import { createHash } from 'node:crypto';
import { InternalError } from '../errors/index.js';

/** PostgreSQL's identifier limit (NAMEDATALEN - 1): longer names are truncated, or refused (NOTIFY channels). */
export const MAX_IDENTIFIER_BYTES = 63;

/** Cuts `text` to at most `bytes` UTF-8 bytes without splitting a character. */
function truncateBytes(text: string, bytes: number): string {
  let out = '';
  let used = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch);
    if (used + size > bytes) break;
    out += ch;
    used += size;
  }
  return out;
}

/**
 * An identifier derived from `base` (a schema or table name) and a fixed `suffix`, always within 63 bytes.
 * When `base + suffix` fits it is used as is (the names existing installations already have); otherwise a
 * readable prefix of `base`, `_`, 12 hex characters of sha256(base) and the suffix — stable across versions
 * and processes, and distinct for distinct bases (PostgreSQL's silent truncation would merge names that
 * share their first 63 bytes).
 */
export function boundedIdentifier(base: string, suffix = ''): string {
  const full = `${base}${suffix}`;
  if (Buffer.byteLength(full) <= MAX_IDENTIFIER_BYTES) return full;
  const hash = createHash('sha256').update(base).digest('hex').slice(0, 12);
  const room = MAX_IDENTIFIER_BYTES - Buffer.byteLength(suffix) - hash.length - 1;
  if (room < 1) throw new InternalError(`typeorm-sharepoint: identifier suffix "${suffix}" is too long.`);
  return `${truncateBytes(base, room)}_${hash}${suffix}`;
}

/** What PostgreSQL made of an over-long identifier before this rule existed (first 63 bytes). */
export function truncatedIdentifier(name: string): string {
  return truncateBytes(name, MAX_IDENTIFIER_BYTES);
}
