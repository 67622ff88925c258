import { type GraphClient, GraphError, graphPath } from '../graph/index.js';
import type { ListSchema } from '../schema/index.js';
import { type DriftEntry, PermissionError, WRITE_PERMISSION } from './errors.js';

// Planning: read the site's lists and columns, compare them with the schema, say what is missing and what drifted.

/** A column as Graph returns it (columnDefinition). */
export interface RemoteColumn {
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

export function facetOf(column: Record<string, unknown>): string | undefined {
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
