import type { BatchResult, GraphRequest } from '../graph/index.js';
import { expandFields, fieldEquals, graphPath, ODATA, odataString } from '../graph/index.js';
import type { ListSchema } from '../schema/index.js';

/** SharePoint field values keyed by internal column name. */
export type Fields = Record<string, unknown>;

/** What the worker knows about one claimed record when it starts sending it. */
export interface RecordInput {
  list: ListSchema;
  siteId: string;
  listId: string;
  twentyId: string;
  /** The record's current SharePoint fields (from its row now), or undefined when the row is gone. */
  fields: Fields | undefined;
  state:
    | {
        itemId: string | null;
        etag: string | null;
        /** Fields SharePoint holds as far as we know (last sent or loaded). */
        fields: Fields | null;
        /** Field sets sent by attempts whose outcome we never learnt (lost response, crash). */
        pending: Fields[];
      }
    | undefined;
}

export type SentOp = 'create' | 'update' | 'delete';

export type Outcome =
  | { kind: 'synced'; itemId: string; etag: string | null; fields: Fields; sent?: SentOp }
  | { kind: 'removed'; sent?: SentOp }
  | { kind: 'retry'; error: string; retryAfterMs?: number }
  | { kind: 'dead'; error: string }
  | {
      kind: 'conflict';
      op: 'update' | 'delete';
      itemId: string;
      remote: { etag: string | null; fields: Fields };
      local: Fields | undefined;
      /** The item no longer exists in SharePoint (a person deleted it): `remote.fields` is empty. */
      remoteDeleted?: boolean;
    };

/** A record's send, written as a coroutine: it yields Graph requests and receives their results. */
export type RecordProgram = Generator<GraphRequest, Outcome, BatchResult>;

interface ListItemBody {
  id: string;
  eTag?: string;
  fields?: Fields;
}

/** Fields Graph adds to every item that we never write. */
const READ_ONLY_FIELDS = new Set([
  'id',
  'Created',
  'Modified',
  'ContentType',
  'Edit',
  'LinkTitle',
  'Attachments',
]);

function normalise(value: unknown): unknown {
  if (value === undefined || value === '') return null;
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value)) {
    const time = Date.parse(value);
    if (!Number.isNaN(time)) return time;
  }
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return value;
}

/** Equal as SharePoint sees it: absent = null = '' (Graph omits nulls), dates by instant. */
export function sameValue(a: unknown, b: unknown): boolean {
  const x = normalise(a);
  const y = normalise(b);
  if (typeof x === 'number' && typeof y === 'string') return String(x) === y;
  if (typeof x === 'string' && typeof y === 'number') return x === String(y);
  return x === y;
}

/** The fields of `next` that differ from `previous` (null for cleared ones). */
export function changedFields(next: Fields, previous: Fields | null | undefined): Fields {
  const diff: Fields = {};
  for (const [name, value] of Object.entries(next)) {
    if (!previous || !sameValue(value, previous[name])) diff[name] = value ?? null;
  }
  return diff;
}

/** True when `remote` holds exactly `expected` for every field we write. */
function holds(remote: Fields, expected: Fields): boolean {
  return Object.entries(expected).every(([name, value]) => sameValue(remote[name], value));
}

/** Only the columns we write, so a comparison ignores Graph's own fields. */
function ownFields(remote: Fields, template: Fields | null | undefined): Fields {
  const out: Fields = {};
  const names = template
    ? Object.keys(template)
    : Object.keys(remote).filter((k) => !READ_ONLY_FIELDS.has(k));
  for (const name of names) {
    if (name.startsWith(ODATA.prefix)) continue;
    out[name] = remote[name] ?? null;
  }
  return out;
}

function errorOutcome(result: Extract<BatchResult, { ok: false }>, what: string): Outcome {
  const error = result.error;
  const message =
    `${what}: ${result.status || ''} ${error.code ?? ''} ${error.graphMessage ?? error.message ?? ''}`
      .replace(/\s+/g, ' ')
      .trim();
  // The gateway resends only what is safe for any caller; for the outbox every server-side failure (5xx,
  // no answer) is worth another attempt later. A 4xx is SharePoint refusing the request: retrying cannot help.
  const transient = error.retryable || result.status === 0 || result.status >= 500 || result.status === 408;
  if (transient) return { kind: 'retry', error: message, retryAfterMs: error.retryAfterMs };
  return { kind: 'dead', error: message };
}

function isUniquenessError(result: Extract<BatchResult, { ok: false }>): boolean {
  const text = `${result.error.code ?? ''} ${result.error.graphMessage ?? ''} ${result.error.message ?? ''}`;
  return result.status === 409 || /unique|duplicate/i.test(text);
}

/**
 * Sends one record's current state. Everything is decided from state, not from the change that queued it:
 * a row that is gone is a delete, a row without a SharePoint item is a create, otherwise only the fields
 * that differ from what SharePoint holds are PATCHed.
 * Long on purpose: its steps (lookup, readItem, remove, create, update) are named inner generators sharing
 * the record's input; as separate functions each would take the whole input again.
 */
export function* sendRecord(input: RecordInput): RecordProgram {
  const { list, siteId, listId, twentyId, fields, state } = input;
  const items = graphPath.items(siteId, listId);
  const itemPath = (itemId: string) => graphPath.item(siteId, listId, itemId);
  const idName = list.idField.name;

  const lookup = function* (): Generator<GraphRequest, ListItemBody | null | Outcome, BatchResult> {
    const result = yield {
      method: 'GET',
      path: items,
      query: { $filter: fieldEquals(idName, odataString(twentyId)), $expand: expandFields(), $top: 2 },
    };
    if (!result.ok) return errorOutcome(result, `looking up ${idName} ${twentyId}`);
    const found = (result.body as { value?: ListItemBody[] }).value ?? [];
    return found[0] ?? null;
  };
  const isOutcome = (v: unknown): v is Outcome => typeof v === 'object' && v !== null && 'kind' in v;
  const readItem = function* (
    itemId: string,
  ): Generator<GraphRequest, ListItemBody | null | Outcome, BatchResult> {
    const result = yield { method: 'GET', path: itemPath(itemId), query: { $expand: expandFields() } };
    if (!result.ok) return result.status === 404 ? null : errorOutcome(result, `reading item ${itemId}`);
    return result.body as ListItemBody;
  };
  /** Was a 412 caused by one of our own earlier sends whose response we never saw? */
  const isOurEcho = (remote: Fields) => {
    const base = state?.fields ?? {};
    return (state?.pending ?? []).some((sent) => holds(remote, { ...base, ...sent }));
  };

  /**
   * After a 412, SharePoint's version of the item: null when it is gone; an outcome for a failure, or a
   * conflict when someone else changed it; else our own earlier send (its fields and eTag) to build on.
   */
  const readAfter412 = function* (
    itemId: string,
    op: 'update' | 'delete',
    template: Fields | null | undefined,
    local: Fields | undefined,
  ): Generator<GraphRequest, { fields: Fields; etag: string | null } | null | Outcome, BatchResult> {
    const remote = yield* readItem(itemId);
    if (isOutcome(remote) || !remote) return remote;
    const remoteFields = ownFields(remote.fields ?? {}, template);
    const etag = remote.eTag ?? null;
    if (!isOurEcho(remoteFields))
      return { kind: 'conflict', op, itemId, remote: { etag, fields: remoteFields }, local };
    return { fields: remoteFields, etag };
  };

  // ── delete ──
  if (!fields) {
    if (!state) return { kind: 'removed' }; // created and deleted before it was ever sent
    let itemId = state.itemId;
    let etag = state.etag;
    if (!itemId) {
      // A create was attempted but its answer was lost: find the item so that it is not orphaned.
      const found = yield* lookup();
      if (isOutcome(found)) return found;
      if (!found) return { kind: 'removed' };
      itemId = found.id;
      etag = found.eTag ?? null;
    }
    for (let round = 0; round < 2; round++) {
      const result = yield {
        method: 'DELETE',
        path: itemPath(itemId),
        ...(etag ? { headers: { 'If-Match': etag } } : {}),
      };
      if (result.ok || result.status === 404) return { kind: 'removed', sent: 'delete' };
      if (result.status !== 412) return errorOutcome(result, `deleting item ${itemId}`);
      const ours = yield* readAfter412(itemId, 'delete', state.fields, undefined);
      if (!ours) return { kind: 'removed', sent: 'delete' };
      if (isOutcome(ours)) return ours;
      etag = ours.etag;
    }
    return { kind: 'retry', error: `deleting item ${itemId}: eTag kept changing` };
  }

  // ── create (or adopt) ──
  if (!state?.itemId) {
    const result = yield { method: 'POST', path: items, body: { fields } };
    if (result.ok) {
      const item = result.body as ListItemBody;
      return { kind: 'synced', itemId: item.id, etag: item.eTag ?? null, fields, sent: 'create' };
    }
    if (!isUniquenessError(result)) return errorOutcome(result, `creating ${idName} ${twentyId}`);
    // Our earlier create was applied but its answer lost: adopt the item instead of duplicating it.
    const found = yield* lookup();
    if (isOutcome(found)) return found;
    if (!found)
      return { kind: 'retry', error: `creating ${idName} ${twentyId}: uniqueness error but no item found` };
    const remoteFields = ownFields(found.fields ?? {}, fields);
    const diff = changedFields(fields, remoteFields);
    if (Object.keys(diff).length === 0) {
      return { kind: 'synced', itemId: found.id, etag: found.eTag ?? null, fields, sent: 'create' };
    }
    const patched = yield {
      method: 'PATCH',
      path: graphPath.itemFields(siteId, listId, found.id),
      body: diff,
      ...(found.eTag ? { headers: { 'If-Match': found.eTag } } : {}),
    };
    if (!patched.ok && patched.status === 412) {
      // The PATCH was applied but its answer lost, and the gateway's resend met our own new eTag: when the
      // item holds what we sent it is done; otherwise someone changed it meanwhile, and the next attempt
      // adopts it afresh.
      const again = yield* readItem(found.id);
      if (isOutcome(again)) return again;
      if (again && holds(ownFields(again.fields ?? {}, fields), fields))
        return { kind: 'synced', itemId: found.id, etag: again.eTag ?? null, fields, sent: 'create' };
      return { kind: 'retry', error: `updating adopted item ${found.id}: it changed meanwhile (412)` };
    }
    if (!patched.ok) return errorOutcome(patched, `updating adopted item ${found.id}`);
    return { kind: 'synced', itemId: found.id, etag: etagOf(patched.body), fields, sent: 'create' };
  }

  // ── update ──
  const itemId = state.itemId;
  let known = state.fields;
  let etag = state.etag;
  for (let round = 0; round < 2; round++) {
    const diff = changedFields(fields, known);
    if (Object.keys(diff).length === 0) return { kind: 'synced', itemId, etag, fields };
    const result = yield {
      method: 'PATCH',
      path: graphPath.itemFields(siteId, listId, itemId),
      body: diff,
      ...(etag ? { headers: { 'If-Match': etag } } : {}),
    };
    if (result.ok) return { kind: 'synced', itemId, etag: etagOf(result.body), fields, sent: 'update' };
    // Deleted in SharePoint while our update waited: a conflict like any other (the policy decides: the
    // delete wins, or ours is created again), never a dead letter that leaves the row in the cache for good.
    const deletedThere = {
      kind: 'conflict' as const,
      op: 'update' as const,
      itemId,
      remote: { etag: null, fields: {} },
      local: fields,
      remoteDeleted: true,
    };
    if (result.status === 404) return deletedThere;
    if (result.status !== 412) return errorOutcome(result, `updating item ${itemId}`);
    const ours = yield* readAfter412(itemId, 'update', fields, fields);
    if (!ours) return deletedThere;
    if (isOutcome(ours)) return ours;
    known = ours.fields;
    etag = ours.etag;
  }
  return { kind: 'retry', error: `updating item ${itemId}: eTag kept changing` };
}

function etagOf(body: unknown): string | null {
  const b = body as { [ODATA.etag]?: string; eTag?: string } | undefined;
  return b?.[ODATA.etag] ?? b?.eTag ?? null;
}

/**
 * Runs many record programs together: each round collects the next request of every unfinished record and
 * sends them as `$batch` chunks, so a claim of N records costs about N/20 round trips.
 */
export async function runPrograms(
  programs: RecordProgram[],
  sendChunk: (requests: GraphRequest[]) => Promise<BatchResult[]>,
  chunkSize: number,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(programs.length);
  let waiting: { index: number; request: GraphRequest }[] = [];
  programs.forEach((program, index) => {
    const step = program.next(undefined as unknown as BatchResult);
    if (step.done) outcomes[index] = step.value;
    else waiting.push({ index, request: step.value });
  });
  while (waiting.length > 0) {
    const chunks: (typeof waiting)[] = [];
    for (let i = 0; i < waiting.length; i += chunkSize) chunks.push(waiting.slice(i, i + chunkSize));
    const results = (await Promise.all(chunks.map((chunk) => sendChunk(chunk.map((w) => w.request))))).flat();
    const next: typeof waiting = [];
    waiting.forEach((w, i) => {
      const step = programs[w.index]!.next(results[i]!);
      if (step.done) outcomes[w.index] = step.value;
      else next.push({ index: w.index, request: step.value });
    });
    waiting = next;
  }
  return outcomes;
}
