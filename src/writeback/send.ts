import type { SyncContext } from '../context.js';
import { listFor } from '../context.js';
import type { BatchResult, GraphRequest } from '../graph/index.js';
import {
  type ConflictResolution,
  decideConflict,
  type ListSchema,
  quoteIdentifier,
  quoteTablePath,
  rowIdSql,
  rowToFields,
} from '../schema/index.js';
import { execute, rows } from '../store/db.js';
import * as sql from '../store/sql.js';
import type { ClaimedRow } from './claim.js';
import type { CycleSettings, WritebackConflict } from './cycle.js';
import {
  changedFields,
  type Fields,
  type Outcome,
  type RecordInput,
  runPrograms,
  sendRecord,
} from './records.js';

/** What sending the claimed records gave: one outcome per claimed row, and the decision for each conflict. */
export interface Sent {
  outcomes: Outcome[];
  /** Index in `claimed` → who wins (conflicts only). */
  resolutions: Map<number, ConflictResolution>;
  /** Graph requests made (inside `$batch`). */
  requests: number;
}

/**
 * Send: reads each claimed record's current row and what SharePoint holds as far as we know, records what is
 * about to be sent, sends (coalesced, in `$batch`), and decides the conflicts (412) by the hook or the list's
 * policy. Nothing here writes the outcome: that is `settle`.
 */
export async function sendClaimed(
  ctx: SyncContext,
  settings: CycleSettings,
  claimed: ClaimedRow[],
): Promise<Sent> {
  const inputs = buildInputs(ctx, claimed, await readClaimed(ctx, claimed));
  await recordPending(ctx, claimed, inputs);
  const { outcomes, requests } = await sendPrograms(ctx, settings, inputs);
  return { outcomes, resolutions: await decideConflicts(ctx, settings, claimed, outcomes), requests };
}

/** The claimed records as they are now: sync_state, the current rows, and entities no longer synced. */
interface ClaimedState {
  states: Map<string, sql.SyncStateRow>;
  current: Map<string, Record<string, unknown>>;
  unknownEntity: Set<string>;
}

async function readClaimed(ctx: SyncContext, claimed: ClaimedRow[]): Promise<ClaimedState> {
  const states = new Map<string, sql.SyncStateRow>();
  for (const st of await rows<sql.SyncStateRow>(ctx.dataSource, sql.selectSyncState(ctx.schema), [
    claimed.map((c) => c.entity),
    claimed.map((c) => c.twenty_id),
  ])) {
    states.set(`${st.entity}\u0000${st.twenty_id}`, st);
  }
  const byEntity = new Map<string, ClaimedRow[]>();
  for (const c of claimed) byEntity.set(c.entity, [...(byEntity.get(c.entity) ?? []), c]);
  const current = new Map<string, Record<string, unknown>>();
  const unknownEntity = new Set<string>();
  for (const [entity, group] of byEntity) {
    let list: ListSchema;
    try {
      list = listFor(ctx, entity);
    } catch {
      unknownEntity.add(entity);
      continue;
    }
    const found = await currentRows(
      ctx,
      list,
      group.map((g) => g.twenty_id),
    );
    for (const [id, row] of found) current.set(`${entity}\u0000${id}`, row);
  }
  return { states, current, unknownEntity };
}

/** One program input per claimed record, or its outcome at once (an unknown entity, a row that cannot map). */
function buildInputs(ctx: SyncContext, claimed: ClaimedRow[], read: ClaimedState): (RecordInput | Outcome)[] {
  const { states, current, unknownEntity } = read;
  return claimed.map((c): RecordInput | Outcome => {
    const key = `${c.entity}\u0000${c.twenty_id}`;
    if (unknownEntity.has(c.entity)) return { kind: 'dead', error: `${c.entity} is not a synced entity` };
    const list = listFor(ctx, c.entity);
    const listId = ctx.listIds.get(list.entityName);
    if (!listId) return { kind: 'retry', error: `no SharePoint list id known for ${list.entityName} yet` };
    const row = current.get(key);
    let fields: Fields | undefined;
    if (row) {
      try {
        fields = rowToFields(list, row) as Fields;
      } catch (error) {
        return { kind: 'dead', error: `mapping ${c.entity} ${c.twenty_id}: ${(error as Error).message}` };
      }
    }
    // A mapping into another list (the list was deleted and created again) names items of that old list: an
    // item with the same id in the new list is another record. Such a mapping counts as missing, so the
    // record is looked up by its TwentyId in the current list (decision 3), and created there if absent.
    const known = states.get(key);
    const st = known && known.list_id === listId ? known : undefined;
    return {
      list,
      siteId: ctx.site.id,
      listId,
      twentyId: c.twenty_id,
      fields,
      state: st
        ? {
            itemId: st.item_id,
            etag: st.etag,
            fields: st.fields,
            pending: Array.isArray(st.pending) ? st.pending : [],
          }
        : undefined,
    };
  });
}

/** Records what is about to be sent before sending it: a 412 met by our own lost write is an echo (decision 8). */
async function recordPending(
  ctx: SyncContext,
  claimed: ClaimedRow[],
  inputs: (RecordInput | Outcome)[],
): Promise<void> {
  const s = ctx.schema;
  const pending = inputs.flatMap((input, i) => {
    if ('kind' in input || !input.fields) return [];
    const sending = input.state?.itemId ? changedFields(input.fields, input.state.fields) : input.fields;
    if (!sending || Object.keys(sending).length === 0) return [];
    const history = [...(input.state?.pending ?? []), sending].slice(-5);
    // This very send counts too: a retried request that meets its own lost first attempt (412) is an echo.
    if (input.state) input.state.pending = history;
    return [{ c: claimed[i]!, listId: input.listId, history }];
  });
  if (pending.length > 0) {
    await execute(ctx.dataSource, sql.recordPending(s), [
      pending.map((p) => p.c.entity),
      pending.map((p) => p.c.twenty_id),
      pending.map((p) => p.listId),
      pending.map((p) => JSON.stringify(p.history)),
    ]);
  }
}

/** Sends every record's program, coalesced into `$batch` requests of at most `batchSize`. */
async function sendPrograms(
  ctx: SyncContext,
  settings: CycleSettings,
  inputs: (RecordInput | Outcome)[],
): Promise<{ outcomes: Outcome[]; requests: number }> {
  const programIndex: number[] = [];
  const programs = inputs.flatMap((input, i) => {
    if ('kind' in input) return [];
    programIndex.push(i);
    return [sendRecord(input)];
  });
  let requests = 0;
  const programOutcomes = await runPrograms(
    programs,
    async (chunk: GraphRequest[]) => {
      requests += chunk.length;
      ctx.emit({ type: 'writeback.batch', size: chunk.length });
      try {
        return await ctx.graph.batch(chunk);
      } catch (error) {
        return chunk.map(() => failedResult(error));
      }
    },
    settings.batchSize,
  );
  const outcomes: Outcome[] = inputs.map((input) =>
    'kind' in input ? input : (undefined as unknown as Outcome),
  );
  programOutcomes.forEach((o, j) => {
    outcomes[programIndex[j]!] = o;
  });
  return { outcomes, requests };
}

/** Conflicts: ask the hook (default: the list's policy, decision 8) before the closing transaction. */
async function decideConflicts(
  ctx: SyncContext,
  settings: CycleSettings,
  claimed: ClaimedRow[],
  outcomes: Outcome[],
): Promise<Map<number, ConflictResolution>> {
  const resolutions = new Map<number, ConflictResolution>();
  for (const [i, o] of outcomes.entries()) {
    if (o.kind !== 'conflict') continue;
    const c = claimed[i]!;
    const conflict: WritebackConflict = {
      entity: c.entity,
      twentyId: c.twenty_id,
      op: o.op,
      itemId: o.itemId,
      local: o.local,
      remote: o.remote,
      ...(o.remoteDeleted ? { remoteDeleted: true } : {}),
    };
    const list = listFor(ctx, c.entity);
    resolutions.set(
      i,
      settings.onConflict
        ? await settings.onConflict(conflict)
        : decideConflict(list.conflictResolution, o.remote.fields.Modified, c.changed_at),
    );
  }
  return resolutions;
}

const pkTypes = new WeakMap<ListSchema, Promise<string>>();

/** SQL type of the key column, so `= ANY($1::type[])` can use the primary key index. */
function keyType(ctx: SyncContext, list: ListSchema): Promise<string> {
  let found = pkTypes.get(list);
  if (!found) {
    found = rows<{ t: string }>(
      ctx.dataSource,
      `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2`,
      [quoteTablePath(list.tablePath), list.primaryKey],
    ).then((r) => r[0]?.t ?? 'text');
    pkTypes.set(list, found);
  }
  return found;
}

/** Reads the current rows of `twentyIds`, keyed by TwentyId. */
async function currentRows(
  ctx: SyncContext,
  list: ListSchema,
  twentyIds: string[],
): Promise<Map<string, Record<string, unknown>>> {
  const table = quoteTablePath(list.tablePath);
  const byId = new Map<string, Record<string, unknown>>();
  if (list.kind === 'junction' && list.junction) {
    const idExpr = rowIdSql(list, 'e');
    const found = await rows<Record<string, unknown>>(
      ctx.dataSource,
      `SELECT e.*, ${idExpr} AS "__twenty_id" FROM ${table} e WHERE ${idExpr} = ANY($1::text[])`,
      [twentyIds],
    );
    for (const row of found) {
      const id = String(row.__twenty_id);
      delete row.__twenty_id;
      byId.set(id, row);
    }
    return byId;
  }
  const type = await keyType(ctx, list);
  const found = await rows<Record<string, unknown>>(
    ctx.dataSource,
    `SELECT * FROM ${table} WHERE ${quoteIdentifier(list.primaryKey)} = ANY($1::${type}[])`,
    [twentyIds],
  );
  for (const row of found) byId.set(String(row[list.primaryKey]), row);
  return byId;
}

function failedResult(error: unknown): BatchResult {
  const e = error as {
    status?: number;
    code?: string;
    retryable?: boolean;
    retryAfterMs?: number;
    message?: string;
  };
  return {
    ok: false,
    status: e.status ?? 0,
    error: {
      ...(e as object),
      status: e.status ?? 0,
      code: e.code ?? 'networkError',
      retryable: e.retryable ?? true,
      retryAfterMs: e.retryAfterMs,
      message: e.message ?? String(error),
    },
  } as unknown as BatchResult;
}
