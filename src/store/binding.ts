import { SharePointSyncError } from '../errors/index.js';
import { type Db, execute, rows } from './db.js';
import * as sql from './sql.js';

/** A schema holds the cache of one site; attaching it to another site (or workspace) is refused. */
export class SiteBindingError extends SharePointSyncError {
  override name = 'SiteBindingError';
  readonly code = 'SITE_BINDING_MISMATCH';
  constructor(
    readonly schema: string,
    /**
     * What differs: `site`, `workspace`, or `list` (a schema cached before sites were remembered, whose list ids
     * do not match the site's: it may be another site's cache).
     */
    readonly mismatch: 'site' | 'list' | 'workspace',
    readonly cached: string,
    readonly wanted: string,
    readonly workspace?: string,
  ) {
    const who = workspace ? `workspace "${workspace}"` : 'this attach';
    const what =
      mismatch === 'site'
        ? `caches site ${cached}, but ${who} names site ${wanted}`
        : mismatch === 'list'
          ? `caches ${cached}, but the site now has ${wanted}`
          : `belongs to workspace "${cached}", not "${wanted}"`;
    super(
      `typeorm-sharepoint: schema "${schema}" ${what}. Attaching would send its cached rows and changes to the ` +
        'wrong place, so it is refused. To move a workspace to another site: drain it while it still names the ' +
        'old site (`detach(id, { drain: true })` or `typeorm-sharepoint --workspace <id> drain`), drop its schema ' +
        '(the cache), then attach it with the new site: it reloads from there. See docs/workspaces.md, ' +
        '"Moving a workspace to another site".',
    );
  }
}

export interface SiteBindingInput {
  siteId: string;
  /** `host:/path`, for messages. */
  site: string;
  workspace?: string;
  /** Entity → list id of the lists that exist on the site now. */
  listIds: Map<string, string>;
}

/**
 * Checks that the schema caches this site and binds an unbound schema to it. Runs before anything is sent to
 * the site. A schema made before the binding existed is checked against the list ids its cache already
 * recorded, then bound; a bound schema takes a recreated list of its own site in its stride.
 */
export async function bindSite(db: Db, schema: string, input: SiteBindingInput): Promise<void> {
  const [bound] = await rows<{
    site_id: string;
    site: string;
    workspace: string | null;
    list_ids: Record<string, string>;
  }>(db, sql.selectSiteBinding(schema));
  if (bound && bound.site_id !== input.siteId) {
    throw new SiteBindingError(
      schema,
      'site',
      `${bound.site} (id ${bound.site_id})`,
      `${input.site} (id ${input.siteId})`,
      input.workspace,
    );
  }
  if (bound?.workspace && input.workspace && bound.workspace !== input.workspace) {
    throw new SiteBindingError(schema, 'workspace', bound.workspace, input.workspace, input.workspace);
  }
  if (!bound) {
    // A schema cached before sites were remembered: its list ids are all that tells which site it holds, and a
    // different list may mean a different site. It is refused, as before, rather than guessed.
    const known = Object.fromEntries(
      (await rows<{ entity: string; list_id: string }>(db, sql.cachedListIds(schema))).map((r) => [
        r.entity,
        r.list_id,
      ]),
    );
    for (const [entity, listId] of input.listIds) {
      const cached = known[entity];
      if (cached && cached !== listId)
        throw new SiteBindingError(
          schema,
          'list',
          `${entity} from list ${cached}`,
          `list ${listId} for it at ${input.site}`,
          input.workspace,
        );
    }
  }
  // Bound to this very site, another list under the entity's title: the list was deleted and created again (or the
  // emulator started again). That is not another tenant's data, so it is no reason to refuse: SharePoint is
  // the source of truth, the binding takes the new list id below, the cache (whose cache_state names the old
  // list) loads the new one in full and sweeps what it does not hold, and the write-back never uses an item
  // id of the old list for the new one (docs/cache.md, "A replaced list").
  const listIds = JSON.stringify(Object.fromEntries(input.listIds));
  if (!bound) {
    await execute(db, sql.insertSiteBinding(schema), [
      input.siteId,
      input.site,
      input.workspace ?? null,
      listIds,
    ]);
    // Another process may have bound it first, maybe to another site: check against what is stored now.
    return bindSite(db, schema, input);
  }
  await execute(db, sql.updateSiteBinding(schema), [listIds, input.workspace ?? null]);
}

/** Remembers the ids of lists created after attach (bootstrap). */
export async function recordBoundLists(db: Db, schema: string, listIds: Map<string, string>): Promise<void> {
  if (listIds.size === 0) return;
  await execute(db, sql.updateSiteBinding(schema), [JSON.stringify(Object.fromEntries(listIds)), null]);
}
