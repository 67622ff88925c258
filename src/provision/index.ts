import { SharePointSyncError } from '../errors/index.js';
import { type GraphClient, GraphError, graphPath } from '../graph/index.js';
import type { ListSchema } from '../schema/index.js';

// Over 400 lines: provisioning's errors, plan (read + compare) and apply (create + follow-ups) and the
// drift report's wording; each function is short (issue 16). Splitting plan/apply into files is a follow-up.

/** Graph v1.0 cannot create site collections: a missing site is something an admin must do. */
export class SiteNotFoundError extends SharePointSyncError {
  override name = 'SiteNotFoundError';
  readonly code = 'SITE_NOT_FOUND';
  constructor(
    readonly hostname: string,
    readonly path: string,
  ) {
    super(
      `typeorm-sharepoint: the SharePoint site https://${hostname}${path} does not exist or the app cannot see it. ` +
        'Graph cannot create site collections: ask a SharePoint admin to create it (SharePoint admin center → Sites → Create), ' +
        'or fix SHAREPOINT_SITE_HOSTNAME / SHAREPOINT_SITE_PATH.',
    );
  }
}

/** Graph answered 403: the app registration lacks a permission. */
export class PermissionError extends SharePointSyncError {
  override name = 'PermissionError';
  readonly code = 'PERMISSION_DENIED';
  constructor(
    readonly action: string,
    readonly permission: string,
    override readonly cause?: unknown,
  ) {
    super(
      `typeorm-sharepoint: permission denied while ${action}. The app registration needs ${permission} ` +
        '(application permission, admin consent granted).',
    );
  }
}

/** Bootstrap found drift and was told to treat it as an error (`failOnDrift`). */
export class DriftError extends SharePointSyncError {
  override name = 'DriftError';
  readonly code = 'DRIFT';
  constructor(readonly drift: DriftEntry[]) {
    super(
      `typeorm-sharepoint: SharePoint differs from the entities (failOnDrift):\n${drift
        .map((d) => `  - ${describeDrift(d)}`)
        .join('\n')}`,
    );
  }
}

/** Bootstrap met failures it cannot explain as a missing permission; each line names the list or column. */
export class BootstrapError extends SharePointSyncError {
  override name = 'BootstrapError';
  readonly code = 'BOOTSTRAP_FAILED';
  constructor(readonly failures: string[]) {
    super(`typeorm-sharepoint: bootstrap could not finish:\n  ${failures.join('\n  ')}`);
  }
}

export interface SiteInfo {
  id: string;
  hostname: string;
  path: string;
  webUrl?: string;
  displayName?: string;
}

const WRITE_PERMISSION = 'Sites.Selected with write access on the site, or Sites.ReadWrite.All';
const MANAGE_PERMISSION = 'Sites.Manage.All (or Sites.Selected with manage/fullcontrol on the site)';

/** `GET /sites/{hostname}:{path}` — the site's id, or a clear error. */
export async function resolveSite(
  graph: GraphClient,
  ref: { hostname: string; path: string },
): Promise<SiteInfo> {
  const path = ref.path.startsWith('/') ? ref.path : `/${ref.path}`;
  try {
    const found = await graph.get<{ id: string; webUrl?: string; displayName?: string }>(
      graphPath.siteByPath(ref.hostname, path),
    );
    return {
      id: found.id,
      hostname: ref.hostname,
      path,
      ...(found.webUrl ? { webUrl: found.webUrl } : {}),
      ...(found.displayName ? { displayName: found.displayName } : {}),
    };
  } catch (error) {
    if (error instanceof GraphError && error.status === 404) throw new SiteNotFoundError(ref.hostname, path);
    if (error instanceof GraphError && error.status === 403) {
      throw new PermissionError(`reading the site https://${ref.hostname}${path}`, WRITE_PERMISSION, error);
    }
    throw error;
  }
}

/** A column as Graph returns it (columnDefinition). */
interface RemoteColumn {
  id: string;
  name: string;
  displayName?: string;
  required?: boolean;
  indexed?: boolean;
  enforceUniqueValues?: boolean;
  readOnly?: boolean;
  hidden?: boolean;
  columnGroup?: string;
  [facet: string]: unknown;
}

interface RemoteList {
  id: string;
  displayName: string;
  columns?: RemoteColumn[];
}

export interface DriftEntry {
  list: string;
  column: string;
  problem: 'type' | 'maxLength' | 'choices' | 'unique' | 'extraColumn' | 'required';
  detail: string;
}

export interface ListPlan {
  /** The list's schema (not serialised). */
  readonly schema: ListSchema;
  entity: string;
  title: string;
  listId?: string;
  action: 'create' | 'update' | 'none';
  /** Column definitions to POST (for a new list: sent with the list). */
  columnsToCreate: Record<string, unknown>[];
  /** Existing columns to index (`PATCH { indexed: true }`): the only change made to an existing column. */
  indexesToAdd: { id: string; name: string }[];
  /** The built-in Title is required; the library fills it but relaxes it so people may leave it empty. */
  relaxTitle?: { id: string };
  /**
   * The id column (`TwentyId`) of a list made before it stopped being required: one `PATCH { required: false }`
   * lets people add items in SharePoint's form (the library gives them their id). It stays indexed and unique.
   */
  relaxIdColumn?: { id: string; name: string };
  drift: DriftEntry[];
}

export interface ProvisioningPlan {
  siteId: string;
  lists: ListPlan[];
  /** True when applying the plan would send no write request. */
  upToDate: boolean;
}

export interface ProvisioningResult {
  /** Entity name → SharePoint list id, for every list that exists after applying. */
  listIds: Map<string, string>;
  createdLists: string[];
  createdColumns: { list: string; column: string }[];
  indexedColumns: { list: string; column: string }[];
  /** Existing columns made optional (the id column of a list made when it was required). */
  relaxedColumns: { list: string; column: string }[];
  /** Lists or columns left missing because `createLists` / `createColumns` were off. */
  skipped: { list: string; column?: string; reason: string }[];
  drift: DriftEntry[];
}

export interface ApplySettings {
  createLists?: boolean;
  createColumns?: boolean;
  failOnDrift?: boolean;
}

/** The facet a definition or a remote column carries (`text`, `number`, …). */
function facetOf(column: Record<string, unknown>): string | undefined {
  return [
    'text',
    'number',
    'boolean',
    'dateTime',
    'choice',
    'currency',
    'lookup',
    'personOrGroup',
    'calculated',
    'hyperlinkOrPicture',
    'term',
    'geolocation',
    'thumbnail',
    'contentApprovalStatus',
  ].find((f) => column[f] !== undefined && column[f] !== null);
}

function compareColumn(
  list: ListSchema,
  wanted: Record<string, unknown>,
  remote: RemoteColumn,
): DriftEntry[] {
  const drift: DriftEntry[] = [];
  const name = String(wanted.name);
  const wantedFacet = facetOf(wanted);
  const remoteFacet = facetOf(remote);
  const add = (problem: DriftEntry['problem'], detail: string) =>
    drift.push({ list: list.title, column: name, problem, detail });
  if (wantedFacet !== remoteFacet) {
    add('type', `SharePoint has ${remoteFacet ?? 'an unknown type'}, the entity needs ${wantedFacet}`);
    return drift;
  }
  const w = (wanted[wantedFacet!] ?? {}) as Record<string, unknown>;
  const r = (remote[remoteFacet!] ?? {}) as Record<string, unknown>;
  if (wantedFacet === 'text') {
    const wantMulti = w.allowMultipleLines === true;
    const haveMulti = r.allowMultipleLines === true;
    if (wantMulti !== haveMulti)
      add(
        'type',
        `SharePoint has ${haveMulti ? 'multi-line' : 'single-line'} text, the entity needs ${wantMulti ? 'multi-line' : 'single-line'}`,
      );
    else if (
      !wantMulti &&
      typeof w.maxLength === 'number' &&
      typeof r.maxLength === 'number' &&
      r.maxLength < w.maxLength
    ) {
      add('maxLength', `SharePoint allows ${r.maxLength} characters, the entity up to ${w.maxLength}`);
    }
  }
  if (wantedFacet === 'choice') {
    const have = new Set((r.choices as string[] | undefined) ?? []);
    const missing = ((w.choices as string[] | undefined) ?? []).filter((c) => !have.has(c));
    if (missing.length > 0) add('choices', `SharePoint lacks the choice(s) ${missing.join(', ')}`);
  }
  if (wanted.enforceUniqueValues === true && remote.enforceUniqueValues !== true) {
    add('unique', 'the column does not enforce unique values (duplicates of this id become possible)');
  }
  if (wanted.required === true && remote.required !== true) {
    add('required', 'SharePoint does not require a value (the entity does); people may leave it empty');
  }
  return drift;
}

/** Columns SharePoint adds to every list: never reported as extra. */
function isOwnColumn(column: RemoteColumn): boolean {
  return !column.readOnly && !column.hidden && column.columnGroup !== '_Hidden' && column.name !== 'Title';
}

/**
 * Reads the whole site structure in one paged request (`lists?$expand=columns`) and compares it with the
 * entities: lists to create, columns to add, indexes to set, and drift it will not fix.
 */
export async function planProvisioning(
  graph: GraphClient,
  siteId: string,
  lists: ListSchema[],
): Promise<ProvisioningPlan> {
  const remote = await readSiteLists(graph, siteId);
  const plans = lists.map((list) => planList(list, remote));
  return { siteId, lists: plans, upToDate: plans.every((p) => p.action === 'none') };
}

/** The site's lists with their columns, in one paged request. */
async function readSiteLists(graph: GraphClient, siteId: string): Promise<RemoteList[]> {
  const remote: RemoteList[] = [];
  try {
    for await (const page of graph.pages<RemoteList>(graphPath.lists(siteId), {
      query: { $expand: 'columns', $select: 'id,displayName' },
    })) {
      remote.push(...page.value);
    }
  } catch (error) {
    if (error instanceof GraphError && error.status === 403)
      throw new PermissionError('reading the lists of the site', WRITE_PERMISSION, error);
    throw error;
  }
  return remote;
}

/** One entity against the site: create the list, or the columns, indexes and relaxations it lacks, and drift. */
function planList(list: ListSchema, remote: RemoteList[]): ListPlan {
  const wanted = [list.idField.definition, ...list.fields.map((f) => f.definition)];
  const existing = remote.find((r) => r.displayName.toLowerCase() === list.title.toLowerCase());
  const base = { entity: list.entityName, title: list.title };
  if (!existing) {
    const plan = {
      ...base,
      action: 'create' as const,
      columnsToCreate: wanted,
      indexesToAdd: [],
      drift: [],
    };
    return withSchema(plan, list);
  }
  const columns = existing.columns ?? [];
  const byName = new Map(columns.map((c) => [c.name.toLowerCase(), c]));
  const columnsToCreate: Record<string, unknown>[] = [];
  const indexesToAdd: { id: string; name: string }[] = [];
  const drift: DriftEntry[] = [];
  for (const definition of wanted) {
    const remoteColumn = byName.get(String(definition.name).toLowerCase());
    if (!remoteColumn) {
      columnsToCreate.push(definition);
      continue;
    }
    drift.push(...compareColumn(list, definition, remoteColumn));
    if (definition.indexed === true && remoteColumn.indexed !== true)
      indexesToAdd.push({ id: remoteColumn.id, name: remoteColumn.name });
  }
  const known = new Set(wanted.map((d) => String(d.name).toLowerCase()));
  for (const column of columns) {
    if (isOwnColumn(column) && !known.has(column.name.toLowerCase())) {
      drift.push({
        list: list.title,
        column: column.name,
        problem: 'extraColumn',
        detail: 'SharePoint has a column the entity does not map (left alone)',
      });
    }
  }
  const title = columns.find((c) => c.name === 'Title');
  const relaxTitle = title?.required === true ? { id: title.id } : undefined;
  const idColumn = byName.get(list.idField.name.toLowerCase());
  const relaxIdColumn =
    idColumn?.required === true && list.idField.definition.required !== true
      ? { id: idColumn.id, name: idColumn.name }
      : undefined;
  const action =
    columnsToCreate.length || indexesToAdd.length || relaxTitle || relaxIdColumn ? 'update' : 'none';
  return withSchema(
    {
      ...base,
      listId: existing.id,
      action,
      columnsToCreate,
      indexesToAdd,
      ...(relaxTitle ? { relaxTitle } : {}),
      ...(relaxIdColumn ? { relaxIdColumn } : {}),
      drift,
    },
    list,
  );
}

function withSchema(plan: Omit<ListPlan, 'schema'>, schema: ListSchema): ListPlan {
  Object.defineProperty(plan, 'schema', { value: schema, enumerable: false });
  return plan as ListPlan;
}

/**
 * Applies a plan: creates missing lists (with their columns), adds missing columns, sets indexes and
 * relaxes `Title`; never drops or alters anything else. Every write goes through `$batch` after the lists
 * exist. Re-planning an applied site yields zero writes.
 */
export async function applyProvisioning(
  graph: GraphClient,
  plan: ProvisioningPlan,
  settings: ApplySettings = {},
): Promise<ProvisioningResult> {
  const createLists = settings.createLists ?? true;
  const createColumns = settings.createColumns ?? true;
  const drift = plan.lists.flatMap((l) => l.drift);
  if (settings.failOnDrift && drift.length > 0) throw new DriftError(drift);
  const result: ProvisioningResult = {
    listIds: new Map(),
    createdLists: [],
    createdColumns: [],
    indexedColumns: [],
    relaxedColumns: [],
    skipped: [],
    drift,
  };
  const followUps = await createMissingLists(graph, plan, result, createLists);
  const requests = followUpRequests(plan.siteId, followUps, result, createColumns);
  await sendFollowUps(graph, requests);
  return result;
}

type FollowUp = { list: ListPlan; listId: string };
type FollowUpRequest = { method: 'POST' | 'PATCH'; path: string; body: unknown; note: () => void };

/**
 * Creates the lists the plan lacks (one POST each, with their columns) and returns every list that needs
 * more: existing lists to update, and new lists whose required `Title` is to be relaxed.
 */
async function createMissingLists(
  graph: GraphClient,
  plan: ProvisioningPlan,
  result: ProvisioningResult,
  createLists: boolean,
): Promise<FollowUp[]> {
  const site = plan.siteId;
  const asPermission = (action: string) => (error: unknown) => {
    if (error instanceof GraphError && error.status === 403)
      throw new PermissionError(action, MANAGE_PERMISSION, error);
    throw error;
  };
  const followUps: FollowUp[] = [];
  for (const list of plan.lists) {
    if (list.listId) {
      result.listIds.set(list.entity, list.listId);
      if (list.action === 'update') followUps.push({ list, listId: list.listId });
      continue;
    }
    if (!createLists) {
      result.skipped.push({
        list: list.title,
        reason: 'the list is missing and createLists is off (SHAREPOINT_AUTO_CREATE_LISTS=false)',
      });
      continue;
    }
    const created = await graph
      .post<{ id: string; columns?: RemoteColumn[] }>(graphPath.lists(site), {
        displayName: list.title,
        columns: list.columnsToCreate,
        list: { template: 'genericList' },
      })
      .catch(asPermission(`creating the list "${list.title}"`));
    result.listIds.set(list.entity, created.id);
    result.createdLists.push(list.title);
    for (const c of list.columnsToCreate)
      result.createdColumns.push({ list: list.title, column: String(c.name) });
    // The new list's Title is required by default: find its id to relax it (one GET per new list).
    const columns = await graph.get<{ value: RemoteColumn[] }>(graphPath.columns(site, created.id), {
      query: { $select: 'id,name,required' },
    });
    const title = columns.value.find((c) => c.name === 'Title');
    followUps.push({
      list: {
        ...list,
        columnsToCreate: [],
        indexesToAdd: [],
        ...(title?.required ? { relaxTitle: { id: title.id } } : {}),
      } as ListPlan,
      listId: created.id,
    });
  }

  return followUps;
}

/** The column creations, indexes and relaxations of the follow-ups, each noting its success in `result`. */
function followUpRequests(
  site: string,
  followUps: FollowUp[],
  result: ProvisioningResult,
  createColumns: boolean,
): FollowUpRequest[] {
  const requests: FollowUpRequest[] = [];
  for (const { list, listId } of followUps) {
    const columnsPath = graphPath.columns(site, listId);
    for (const definition of list.columnsToCreate) {
      if (!createColumns) {
        result.skipped.push({
          list: list.title,
          column: String(definition.name),
          reason: 'createColumns is off (SHAREPOINT_AUTO_CREATE_COLUMNS=false)',
        });
        continue;
      }
      requests.push({
        method: 'POST',
        path: columnsPath,
        body: definition,
        note: () => result.createdColumns.push({ list: list.title, column: String(definition.name) }),
      });
    }
    for (const index of list.indexesToAdd) {
      requests.push({
        method: 'PATCH',
        path: graphPath.column(site, listId, index.id),
        body: { indexed: true },
        note: () => result.indexedColumns.push({ list: list.title, column: index.name }),
      });
    }
    if (list.relaxTitle) {
      requests.push({
        method: 'PATCH',
        path: graphPath.column(site, listId, list.relaxTitle.id),
        body: { required: false },
        note: () => {},
      });
    }
    if (list.relaxIdColumn) {
      const column = list.relaxIdColumn.name;
      requests.push({
        method: 'PATCH',
        path: `${columnsPath}/${list.relaxIdColumn.id}`,
        body: { required: false },
        note: () => result.relaxedColumns.push({ list: list.title, column }),
      });
    }
  }
  return requests;
}

/** Sends the follow-ups in `$batch`; any refusal fails provisioning (403: a permission error). */
async function sendFollowUps(graph: GraphClient, requests: FollowUpRequest[]): Promise<void> {
  if (requests.length === 0) return;
  const answers = await graph.batch(requests.map(({ method, path, body }) => ({ method, path, body })));
  const failures: string[] = [];
  answers.forEach((answer, i) => {
    const request = requests[i]!;
    if (answer.ok) request.note();
    else if (answer.status === 403) failures.push(`403 on ${request.method} ${request.path}`);
    else failures.push(`${request.method} ${request.path}: ${answer.status} ${answer.error.message}`);
  });
  if (failures.some((f) => f.startsWith('403'))) {
    throw new PermissionError('changing columns', MANAGE_PERMISSION);
  }
  if (failures.length > 0) {
    throw new BootstrapError(failures);
  }
}

function describeColumn(definition: Record<string, unknown>): string {
  const facet = facetOf(definition) ?? '?';
  const f = (definition[facet] ?? {}) as Record<string, unknown>;
  let type = facet;
  if (facet === 'text') type = f.allowMultipleLines ? 'multi-line text' : `text(${f.maxLength ?? 255})`;
  if (facet === 'number') type = `number(${f.decimalPlaces ?? 'automatic'})`;
  if (facet === 'dateTime') type = f.format === 'dateOnly' ? 'date' : 'dateTime';
  if (facet === 'choice') type = `choice(${(f.choices as string[]).join('|')})`;
  const flags = [
    definition.required ? 'required' : '',
    definition.indexed ? 'indexed' : '',
    definition.enforceUniqueValues ? 'unique' : '',
  ].filter(Boolean);
  return `${String(definition.name)} ${type}${flags.length ? ` ${flags.join(' ')}` : ''}`;
}

function describeDrift(d: DriftEntry): string {
  return `"${d.list}".${d.column}: ${d.detail}`;
}

/** The plan as people read it (`typeorm-sharepoint bootstrap --dry-run`). */
export function formatPlan(plan: ProvisioningPlan): string {
  const lines = [`Site ${plan.siteId}`];
  for (const list of plan.lists) {
    if (list.action === 'create') {
      lines.push(
        `+ create list "${list.title}" (${list.entity}) with ${list.columnsToCreate.length} column(s):`,
      );
      for (const c of list.columnsToCreate) lines.push(`    + ${describeColumn(c)}`);
    } else if (list.action === 'update') {
      lines.push(`~ list "${list.title}" (${list.entity}):`);
      for (const c of list.columnsToCreate) lines.push(`    + add column ${describeColumn(c)}`);
      for (const i of list.indexesToAdd) lines.push(`    + index ${i.name}`);
      if (list.relaxTitle) lines.push('    ~ make Title optional (the library fills it)');
      if (list.relaxIdColumn)
        lines.push(
          `    ~ make ${list.relaxIdColumn.name} optional (stays indexed and unique): people may add items in SharePoint's form; the next pull gives them their id`,
        );
    } else {
      lines.push(`= list "${list.title}" (${list.entity}) is up to date`);
    }
    for (const d of list.drift) lines.push(`    ! drift (not changed): ${d.column}: ${d.detail}`);
  }
  lines.push(plan.upToDate ? 'Nothing to do.' : 'Run `typeorm-sharepoint bootstrap` to apply.');
  return lines.join('\n');
}

/** What `bootstrap` changed, for people (the CLI's `bootstrap`): never the plan's "run … to apply". */
export function formatProvisioningResult(result: ProvisioningResult): string {
  const lines: string[] = [];
  for (const title of result.createdLists) lines.push(`+ created list "${title}"`);
  for (const c of result.createdColumns) lines.push(`+ created column ${c.list}.${c.column}`);
  for (const c of result.indexedColumns) lines.push(`+ indexed column ${c.list}.${c.column}`);
  for (const c of result.relaxedColumns)
    lines.push(`~ made column ${c.list}.${c.column} optional (still indexed and unique)`);
  for (const s of result.skipped)
    lines.push(`- skipped ${s.list}${s.column ? `.${s.column}` : ''}: ${s.reason}`);
  for (const d of result.drift) lines.push(`! drift (not changed): ${d.list}.${d.column}: ${d.detail}`);
  const changes =
    result.createdLists.length +
    result.createdColumns.length +
    result.indexedColumns.length +
    result.relaxedColumns.length;
  lines.push(
    changes === 0
      ? `Nothing to do: SharePoint already has all ${result.listIds.size} list(s) and their columns.`
      : `Applied: ${result.createdLists.length} list(s) created, ${result.createdColumns.length} column(s) created, ${result.indexedColumns.length} column(s) indexed` +
          (result.relaxedColumns.length > 0
            ? `, ${result.relaxedColumns.length} column(s) made optional.`
            : '.'),
  );
  return lines.join('\n');
}
