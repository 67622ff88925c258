import { type GraphClient, GraphError, graphPath } from '../graph/index.js';
import { BootstrapError, type DriftEntry, DriftError, MANAGE_PERMISSION, PermissionError } from './errors.js';
import type { ListPlan, ProvisioningPlan, RemoteColumn } from './plan.js';

// Applying a plan: create what is missing, add indexes, relax Title; never drop or alter anything else.

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
