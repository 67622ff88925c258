import retry from 'retry';
import type { QueryRunner } from 'typeorm';
import { listFor, type SyncContext, type SyncEvent } from '../context.js';
import type { BatchResult, GraphRequest } from '../graph/index.js';
import {
  type ConflictPolicy,
  contentHash,
  fieldsToRow,
  keyColumns,
  type ListSchema,
  quoteTablePath,
  rowToFields,
} from '../schema/index.js';
import { suppressCapture } from '../store/capture.js';
import { execute, retryOnConnectionLoss, rows, yieldingTransaction } from '../store/db.js';
import { deleteRows, upsertRows } from '../store/rows.js';
import * as sql from '../store/sql.js';
import {
  changedFields,
  type Fields,
  type Outcome,
  type RecordInput,
  runPrograms,
  type SentOp,
  sendRecord,
} from './records.js';

export interface WritebackConflict {
  entity: string;
  twentyId: string;
  op: 'update' | 'delete';
  itemId: string;
  /** The record's fields as PostgreSQL holds them (undefined: deleted locally). */
  local: Fields | undefined;
  /** SharePoint's current fields and eTag (empty, with `remoteDeleted`, when a person deleted the item). */
  remote: { etag: string | null; fields: Fields };
  /** The item no longer exists in SharePoint. `sharepoint` deletes the local row; `twenty` creates it again. */
  remoteDeleted?: boolean;
}

export type ConflictResolution = 'sharepoint' | 'twenty' | 'keep';

/**
 * What a list's policy decides for a conflict: SharePoint's version, ours (re-sent), or neither until a person
 * decides. lastWriteWins compares SharePoint's `Modified` with the time of the local change.
 */
export function policyResolution(
  policy: ConflictPolicy,
  remote: Fields,
  localChangedAt: Date | string,
): ConflictResolution {
  switch (policy) {
    case 'twentyPriority':
      return 'twenty';
    case 'manualReview':
      return 'keep';
    case 'lastWriteWins': {
      const remoteAt = typeof remote.Modified === 'string' ? Date.parse(remote.Modified) : Number.NaN;
      const localAt = new Date(localChangedAt).getTime();
      return !Number.isNaN(remoteAt) && remoteAt > localAt ? 'sharepoint' : 'twenty';
    }
    default:
      return 'sharepoint';
  }
}

export interface CycleSettings {
  batchSize: number;
  retryAttempts: number;
  retryDelayMs: number;
  batchWindowSeconds: number;
  dailyHourUtc: number;
  onConflict?: (conflict: WritebackConflict) => Promise<ConflictResolution>;
}

interface ClaimedRow {
  id: string;
  entity: string;
  twenty_id: string;
  op: string;
  priority: number;
  version: number;
  attempts: number;
  changed_at: Date;
}

interface SyncStateRow {
  entity: string;
  twenty_id: string;
  list_id: string;
  item_id: string | null;
  etag: string | null;
  fields: Fields | null;
  pending: Fields[] | null;
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
  const cols = keyColumns(list);
  const byId = new Map<string, Record<string, unknown>>();
  if (cols.length === 2) {
    const idExpr = `md5("${cols[0]}"::text || ':' || "${cols[1]}"::text)::uuid::text`;
    const found = await rows<Record<string, unknown>>(
      ctx.dataSource,
      `SELECT *, ${idExpr} AS "__twenty_id" FROM ${table} WHERE ${idExpr} = ANY($1::text[])`,
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
    `SELECT * FROM ${table} WHERE "${list.primaryKey}" = ANY($1::${type}[])`,
    [twentyIds],
  );
  for (const row of found) byId.set(String(row[list.primaryKey]), row);
  return byId;
}

function backoffMs(settings: CycleSettings, attempt: number): number {
  return retry.createTimeout(attempt, {
    factor: 2,
    minTimeout: settings.retryDelayMs,
    maxTimeout: Math.max(settings.retryDelayMs, 10 * 60_000),
    randomize: true,
  });
}

/** Writes SharePoint's values into the cached row (the caller suppressed capture): SharePoint wins. */
async function applyRemoteRow(runner: QueryRunner, list: ListSchema, fields: Fields): Promise<void> {
  await upsertRows(runner, list, [fieldsToRow(list, fields) as Record<string, unknown>]);
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

/**
 * The claims a worker's running cycles hold. A claim whose answer was lost (the connection died after the
 * claim committed), or that a failed cycle could not release, belongs to this worker but to no cycle: nobody
 * else frees it, since the worker's lock is alive. `sweep` frees exactly those, at a moment when no claim is in
 * flight (new claims wait for it), so it can never free a claim a cycle is about to send.
 */
export class OwnClaims {
  private readonly held = new Set<string>();
  private claiming = 0;
  private sweeping: Promise<void> | undefined;
  private suspect = false;

  async claim<T extends { id: string }>(run: () => Promise<T[]>): Promise<T[]> {
    while (this.sweeping) await this.sweeping;
    this.claiming++;
    try {
      const claimed = await run();
      for (const c of claimed) this.held.add(String(c.id));
      return claimed;
    } catch (error) {
      this.suspect = true;
      throw error;
    } finally {
      this.claiming--;
    }
  }

  finish(ids: string[]): void {
    for (const id of ids) this.held.delete(String(id));
  }

  /** Some claim of this worker may be held by no cycle. */
  markSuspect(): void {
    this.suspect = true;
  }

  async sweep(release: (keep: string[]) => Promise<unknown>): Promise<void> {
    if (!this.suspect || this.sweeping || this.claiming > 0) return;
    this.suspect = false;
    this.sweeping = release([...this.held]).then(
      () => undefined,
      () => {
        this.suspect = true;
      },
    );
    try {
      await this.sweeping;
    } finally {
      this.sweeping = undefined;
    }
  }
}

/**
 * One pass of a worker: claim due rows, read their current state, send, and record the outcome.
 * Returns how many rows were claimed (0: nothing due).
 */
export async function runCycle(
  ctx: SyncContext,
  settings: CycleSettings,
  workerId: number,
  options: { ignoreWindows: boolean },
  claims: OwnClaims = new OwnClaims(),
): Promise<{ claimed: number; sent: number; deadLettered: number }> {
  const s = ctx.schema;
  await claims.sweep((keep) => execute(ctx.dataSource, sql.releaseOwnClaimsExcept(s), [workerId, keep]));
  await yieldingTransaction(ctx.dataSource, (runner) =>
    execute(runner, sql.releaseOrphanClaims(s, workerId)),
  );
  const claimed = await claims.claim(() =>
    rows<ClaimedRow>(ctx.dataSource, sql.claimDue(s), [
      workerId,
      settings.batchWindowSeconds,
      settings.dailyHourUtc,
      options.ignoreWindows,
      settings.batchSize,
    ]),
  );
  if (claimed.length === 0) return { claimed: 0, sent: 0, deadLettered: 0 };
  const ids = claimed.map((c) => c.id);
  try {
    return await sendClaimed(ctx, settings, workerId, claimed);
  } catch (error) {
    // Nothing was recorded: free the claims so the records go out again (or let the next sweep do it).
    await execute(ctx.dataSource, sql.releaseClaims(s), [workerId, ids]).catch(() => claims.markSuspect());
    throw error;
  } finally {
    claims.finish(ids);
  }
}

async function sendClaimed(
  ctx: SyncContext,
  settings: CycleSettings,
  workerId: number,
  claimed: ClaimedRow[],
): Promise<{ claimed: number; sent: number; deadLettered: number }> {
  const s = ctx.schema;

  // Current state of every claimed record: its row now, and what SharePoint holds as far as we know.
  const states = new Map<string, SyncStateRow>();
  for (const st of await rows<SyncStateRow>(ctx.dataSource, sql.selectSyncState(s), [
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

  // Build one program per record; record what is about to be sent before sending it (decision 5).
  const inputs: (RecordInput | Outcome)[] = claimed.map((c) => {
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

  // Conflicts: ask the hook (default SharePoint wins) before the closing transaction.
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
        : policyResolution(list.conflictResolution, o.remote.fields, c.changed_at),
    );
  }

  let sent = 0;
  let deadLettered = 0;
  const sentByKind = new Map<string, { entity: string; op: SentOp; latencyMs: number[] }>();
  const now = Date.now();
  // Events wait for the commit: the closing transaction may run again after yielding to an application lock.
  let events: SyncEvent[] = [];
  // What was sent must be recorded: a lost connection (PostgreSQL restart, killed backend) is waited out and
  // the transaction run again, rather than the records sent a second time. Every statement in it is safe to
  // repeat (the deletes and releases are guarded by this worker's claim).
  await retryOnConnectionLoss(
    () =>
      yieldingTransaction(ctx.dataSource, async (runner) => {
        events = [];
        sentByKind.clear();
        sent = 0;
        deadLettered = 0;
        const synced: { c: ClaimedRow; o: Extract<Outcome, { kind: 'synced' }> }[] = [];
        const removed: ClaimedRow[] = [];
        const done: ClaimedRow[] = [];
        const retries: { c: ClaimedRow; error: string; delay: number }[] = [];
        const dead: { c: ClaimedRow; error: string }[] = [];
        for (const [i, o] of outcomes.entries()) {
          const c = claimed[i]!;
          if (o.kind === 'synced' || o.kind === 'removed') {
            if (o.kind === 'synced') synced.push({ c, o });
            else removed.push(c);
            done.push(c);
            if (o.sent) {
              const key = `${c.entity}\u0000${o.sent}`;
              const entry = sentByKind.get(key) ?? { entity: c.entity, op: o.sent, latencyMs: [] };
              entry.latencyMs.push(now - new Date(c.changed_at).getTime());
              sentByKind.set(key, entry);
            }
          } else if (o.kind === 'retry') {
            if (c.attempts + 1 > settings.retryAttempts)
              dead.push({ c, error: `${o.error} (after ${c.attempts + 1} attempts)` });
            else
              retries.push({ c, error: o.error, delay: o.retryAfterMs ?? backoffMs(settings, c.attempts) });
          } else if (o.kind === 'dead') {
            dead.push({ c, error: o.error });
          } else {
            const resolution = resolutions.get(i) ?? 'sharepoint';
            const list = listFor(ctx, c.entity);
            const listId = ctx.listIds.get(list.entityName)!;
            if (resolution === 'sharepoint' && o.remoteDeleted) {
              // SharePoint's delete wins: the row goes, as a pull would have removed it (capture off).
              await suppressCapture(runner);
              await runner.query('SAVEPOINT tsp_remote_delete');
              try {
                await deleteRows(runner, list, [c.twenty_id]);
                await runner.query('RELEASE SAVEPOINT tsp_remote_delete');
                removed.push(c);
                done.push(c);
              } catch (error) {
                // Other rows still point at it (a foreign key): it cannot go, so it is sent again as a create.
                await runner.query('ROLLBACK TO SAVEPOINT tsp_remote_delete');
                if ((error as { code?: string }).code !== '23503') throw error;
                await execute(runner, sql.deleteSyncState(ctx.schema), [[c.entity], [c.twenty_id]]);
                retries.push({
                  c,
                  error: 'deleted in SharePoint but still referenced locally; creating it again',
                  delay: 0,
                });
              }
            } else if (resolution === 'sharepoint') {
              await suppressCapture(runner);
              await applyRemoteRow(runner, list, o.remote.fields);
              synced.push({
                c,
                o: { kind: 'synced', itemId: o.itemId, etag: o.remote.etag, fields: o.remote.fields },
              });
              done.push(c);
            } else if (resolution === 'twenty' && o.remoteDeleted) {
              // Ours wins over the delete: forget the gone item, so the next send creates the record again.
              await execute(runner, sql.deleteSyncState(ctx.schema), [[c.entity], [c.twenty_id]]);
              retries.push({
                c,
                error: 'deleted in SharePoint; creating it again (local version wins)',
                delay: 0,
              });
            } else if (resolution === 'twenty') {
              // Adopt SharePoint's eTag and values as "known", then send ours again at once.
              await execute(runner, sql.upsertSyncState(ctx.schema), [
                [c.entity],
                [c.twenty_id],
                [listId],
                [o.itemId],
                [o.remote.etag],
                [JSON.stringify(o.remote.fields)],
                [contentHash(o.remote.fields)],
              ]);
              retries.push({ c, error: 'conflict resolved for the local version; re-sending', delay: 0 });
            } else {
              // manualReview: neither side is overwritten; the row waits, held, for a person.
              await execute(runner, sql.holdOutbox(ctx.schema), [c.entity, c.twenty_id]);
            }
            const modified = o.remote.fields.Modified;
            await execute(runner, sql.insertConflict(ctx.schema), [
              c.entity,
              c.twenty_id,
              list.conflictResolution,
              o.remoteDeleted
                ? 'updated locally while the item was deleted in SharePoint'
                : `${o.op === 'delete' ? 'deleted locally' : 'updated locally'} while the item changed in SharePoint (412)`,
              o.local ? JSON.stringify(o.local) : null,
              o.remoteDeleted ? null : JSON.stringify(o.remote.fields),
              resolution === 'keep' ? null : resolution,
              o.remote.etag,
              typeof modified === 'string' ? modified : null,
              new Date(c.changed_at).toISOString(),
            ]);
            events.push({
              type: 'conflict',
              entity: c.entity,
              twentyId: c.twenty_id,
              policy: list.conflictResolution,
              resolution,
            });
          }
        }
        if (synced.length > 0) {
          await execute(runner, sql.upsertSyncState(s), [
            synced.map((x) => x.c.entity),
            synced.map((x) => x.c.twenty_id),
            synced.map((x) => ctx.listIds.get(listFor(ctx, x.c.entity).entityName)!),
            synced.map((x) => x.o.itemId),
            synced.map((x) => x.o.etag),
            synced.map((x) => JSON.stringify(x.o.fields)),
            synced.map((x) => contentHash(x.o.fields)),
          ]);
        }
        if (removed.length > 0) {
          await execute(runner, sql.deleteSyncState(s), [
            removed.map((c) => c.entity),
            removed.map((c) => c.twenty_id),
          ]);
        }
        if (done.length > 0) {
          const gone = await rows<{ id: string }>(runner, sql.deleteSentOutbox(s), [
            workerId,
            done.map((c) => c.id),
          ]);
          sent = gone.length;
        }
        if (retries.length > 0) {
          await execute(runner, sql.scheduleRetries(s), [
            workerId,
            retries.map((r) => r.c.id),
            retries.map((r) => r.delay),
            retries.map((r) => r.error),
          ]);
        }
        if (dead.length > 0) {
          const moved = await rows<{ entity: string; twenty_id: string; error: string }>(
            runner,
            sql.deadLetterOutbox(s),
            [workerId, dead.map((d) => d.c.id), dead.map((d) => d.error)],
          );
          deadLettered = moved.length;
          for (const m of moved) {
            events.push({
              type: 'writeback.deadLetter',
              entity: m.entity,
              twentyId: m.twenty_id,
              error: m.error,
            });
          }
        }
        // Whatever is still claimed by us had a newer version written meanwhile: release it for the next pass.
        await execute(runner, sql.releaseClaims(s), [workerId, claimed.map((c) => c.id)]);
        for (const r of retries) {
          events.push({
            type: 'writeback.retry',
            entity: r.c.entity,
            twentyId: r.c.twenty_id,
            error: r.error,
            attempt: r.c.attempts + 1,
          });
        }
      }),
    {
      onRetry: (error) =>
        ctx.logger.warn(
          'typeorm-sharepoint: recording a sent write-back batch met a lost connection; retrying',
          {
            error: String(error),
          },
        ),
    },
  );
  for (const event of events) {
    if (event.type === 'writeback.deadLetter') {
      ctx.logger.warn('write-back dead-lettered a record', {
        entity: event.entity,
        twentyId: event.twentyId,
        error: event.error,
      });
    }
    ctx.emit(event);
  }
  for (const entry of sentByKind.values()) {
    ctx.emit({
      type: 'writeback.sent',
      entity: entry.entity,
      op: entry.op,
      count: entry.latencyMs.length,
      latencyMs: entry.latencyMs,
    });
  }
  ctx.logger.debug('write-back cycle', { claimed: claimed.length, requests, sent, deadLettered });
  return { claimed: claimed.length, sent, deadLettered };
}
