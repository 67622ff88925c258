import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { Logger } from '../context.js';

/** PostgreSQL truncates identifiers beyond 63 bytes (NAMEDATALEN - 1), silently: names must fit. */
export const MAX_IDENTIFIER_BYTES = 63;

const PREFIX = 'workspace_';
/** Ids that map to `workspace_<id>` unchanged: lower-case ASCII words joined by single underscores. */
const SAFE_ID = /^[a-z0-9]+(?:_[a-z0-9]+)*$/;
const HASH_CHARS = 24; // 96 bits of SHA-256: no collision among any realistic number of workspaces
const READABLE_CHARS = MAX_IDENTIFIER_BYTES - PREFIX.length - 2 - HASH_CHARS; // 27

/**
 * The PostgreSQL schema of a workspace when the definition names none. Injective and stable across versions:
 * - an id that is already a plain identifier (`acme`, `globex_2`: lower-case ASCII letters and digits, single
 *   underscores between them, at most 53 characters) keeps `workspace_<id>`, exactly as before;
 * - any other id (upper case, punctuation, non-ASCII, `__`, longer) becomes
 *   `workspace_<readable>__<hash>`: a readable ASCII prefix (≤ 27 characters) and 24 hex characters of the
 *   SHA-256 of the exact id (UTF-8). Only these names contain `__`, so the two forms never meet, and ids
 *   differing only by case or punctuation (`acme.corp`, `acme-corp`, `Acme_Corp`) get different hashes.
 * Always a lower-case identifier of at most 63 bytes. See docs/workspaces.md for schemas made by the old rule.
 */
export function defaultWorkspaceSchema(workspaceId: string): string {
  if (SAFE_ID.test(workspaceId) && PREFIX.length + workspaceId.length <= MAX_IDENTIFIER_BYTES) {
    return `${PREFIX}${workspaceId}`;
  }
  const readable = workspaceId
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, READABLE_CHARS)
    .replace(/_+$/, '');
  const hash = createHash('sha256').update(workspaceId, 'utf8').digest('hex').slice(0, HASH_CHARS);
  return `${PREFIX}${readable}__${hash}`;
}

/**
 * The schema name versions ≤ 0.x derived (`workspace_` + the id lower-cased, other characters → `_`,
 * cut at 63): not injective (`acme.corp` and `acme-corp` met). Only for moving such a schema to its new
 * name (docs/workspaces.md, "Schema names"); never used to attach.
 */
export function legacyWorkspaceSchema(workspaceId: string): string {
  const cleaned = workspaceId.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return `${PREFIX}${cleaned}`.slice(0, MAX_IDENTIFIER_BYTES);
}

/**
 * The schema rule changed for ids that were not plain identifiers: their old cache sits in the old schema.
 * Say so (once per attach, before anything is created) instead of silently starting a second cache.
 */
export async function warnOfLegacySchema(
  dataSource: DataSource,
  id: string,
  schema: string,
  logger: Logger,
): Promise<void> {
  const legacy = legacyWorkspaceSchema(id);
  if (legacy === schema) return;
  const [found] = (await dataSource.query(
    `SELECT to_regclass($1) IS NOT NULL AS legacy, to_regclass($2) IS NOT NULL AS current`,
    [`"${legacy}".migrations`, `"${schema}".migrations`],
  )) as { legacy: boolean; current: boolean }[];
  if (found?.legacy && !found.current) {
    logger.warn(
      `typeorm-sharepoint: workspace "${id}" now uses schema "${schema}"; schema "${legacy}" (the old name rule) ` +
        'still exists and may hold its cache and unsent changes. See docs/workspaces.md, "Schema names".',
      { schema, legacySchema: legacy },
    );
  }
}
