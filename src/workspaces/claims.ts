import { assertSchemaName } from '../store/db.js';
import { WorkspaceConflictError } from './errors.js';
import { defaultWorkspaceSchema } from './schema-name.js';
import { type WorkspaceSettings, WorkspaceSettingsError } from './settings.js';
import type { WorkspaceDefinition } from './types.js';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** What one workspace holds in this process: a schema and a site (`siteKey` normalised, `site` as written). */
export interface Claim {
  id: string;
  schema?: string;
  siteKey?: string;
  site?: string;
}

/** SharePoint host names and server-relative paths are case-insensitive. */
function siteKeyOf(site: { hostname: string; path: string }): string {
  return `${site.hostname.toLowerCase()}:${site.path.toLowerCase().replace(/\/+$/, '')}`;
}

/**
 * The workspace's schema (the definition's, its DataSource's, or the default), checked, and claimed with its
 * site in one synchronous step: of two concurrent attaches, the second sees the first. Writes the claim into
 * `claim` and returns the schema; refuses a schema or (unless `allowSharedSites`) a site another holds.
 */
export function claimSchemaAndSite(
  claim: Claim,
  others: Iterable<Claim>,
  definition: WorkspaceDefinition,
  settings: WorkspaceSettings,
  allowSharedSites: boolean,
): string {
  const id = claim.id;
  const given = typeof definition.dataSource === 'function' ? undefined : definition.dataSource;
  const schema =
    definition.schema ??
    (given?.options.type === 'postgres' ? given.options.schema : undefined) ??
    defaultWorkspaceSchema(id);
  if (!SCHEMA_NAME.test(schema)) {
    throw new WorkspaceSettingsError(
      id,
      'schema',
      'must be a lower-case PostgreSQL identifier',
      JSON.stringify(schema),
    );
  }
  assertSchemaName(schema);
  const siteKey = siteKeyOf(settings.site);
  const site = `${settings.site.hostname}:${settings.site.path}`;
  for (const other of others) {
    if (other === claim) continue;
    if (other.schema === schema) throw new WorkspaceConflictError(id, other.id, 'schema', schema);
    if (other.siteKey === siteKey && !allowSharedSites) {
      throw new WorkspaceConflictError(id, other.id, 'site', site);
    }
  }
  claim.schema = schema;
  claim.siteKey = siteKey;
  claim.site = site;
  return schema;
}
