import retry from 'retry';
import type { QueryRunner } from 'typeorm';
import { listFor, type SyncContext, type SyncEvent } from '../context.js';
import { type ConflictResolution, contentHash, fieldsToRow, type ListSchema } from '../schema/index.js';
import { suppressCapture } from '../store/capture.js';
import { execute, retryOnConnectionLoss, rows, yieldingTransaction } from '../store/db.js';
import { deleteRows, upsertRows } from '../store/rows.js';
import * as sql from '../store/sql.js';
import type { ClaimedRow } from './claim.js';
import type { CycleSettings } from './cycle.js';
import type { Fields, Outcome, SentOp } from './records.js';
import type { Sent } from './send.js';

type ConflictOutcome = Extract<Outcome, { kind: 'conflict' }>;

/** What the closing transaction records, sorted by what happens to each claimed row. */
interface Settlement {
  synced: { c: ClaimedRow; o: Extract<Outcome, { kind: 'synced' }> }[];
  removed: ClaimedRow[];
  /** Rows whose outbox row is deleted (if its version did not move meanwhile). */
  done: ClaimedRow[];
  retries: { c: ClaimedRow; error: string; delay: number }[];
  dead: { c: ClaimedRow; error: string }[];
  /** Emitted once the transaction committed. */
  events: SyncEvent[];
  sentByKind: Map<string, { entity: string; op: SentOp; latencyMs: number[] }>;
  sent: number;
  deadLettered: number;
}

/**
 * Settle: records every outcome in one closing transaction — sync_state ← item id + eTag + content hash, the
 * outbox row deleted only if its version did not move meanwhile (else it is sent again), retries with
 * backoff, dead letters, conflicts — then emits the events.
 */
export async function settle(
  ctx: SyncContext,
  settings: CycleSettings,
  workerId: number,
  claimed: ClaimedRow[],
  sent: Sent,
): Promise<{ sent: number; deadLettered: number }> {
  const now = Date.now();
  let settlement: Settlement | undefined;
  // What was sent must be recorded: a lost connection (PostgreSQL restart, killed backend) is waited out and
  // the transaction run again, rather than the records sent a second time. Every statement in it is safe to
  // repeat (the deletes and releases are guarded by this worker's claim). Events wait for the commit: the
  // closing transaction may run again after yielding to an application lock.
  await retryOnConnectionLoss(
    () =>
      yieldingTransaction(ctx.dataSource, async (runner) => {
        const next = emptySettlement();
        for (const [i, o] of sent.outcomes.entries()) {
          const c = claimed[i]!;
          if (o.kind === 'conflict') {
            await applyConflict(ctx, runner, next, c, o, sent.resolutions.get(i) ?? 'sharepoint');
          } else sortOutcome(settings, next, c, o, now);
        }
        await recordSettlement(ctx, runner, workerId, claimed, next);
        settlement = next;
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
  const { events, sentByKind } = settlement!;
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
  return { sent: settlement!.sent, deadLettered: settlement!.deadLettered };
}

function emptySettlement(): Settlement {
  return {
    synced: [],
    removed: [],
    done: [],
    retries: [],
    dead: [],
    events: [],
    sentByKind: new Map(),
    sent: 0,
    deadLettered: 0,
  };
}

/** Sorts an outcome other than a conflict: synced, removed, retried (or dead once out of attempts), dead. */
function sortOutcome(
  settings: CycleSettings,
  t: Settlement,
  c: ClaimedRow,
  o: Exclude<Outcome, ConflictOutcome>,
  now: number,
): void {
  if (o.kind === 'synced' || o.kind === 'removed') {
    if (o.kind === 'synced') t.synced.push({ c, o });
    else t.removed.push(c);
    t.done.push(c);
    if (o.sent) {
      const key = `${c.entity}\u0000${o.sent}`;
      const entry = t.sentByKind.get(key) ?? { entity: c.entity, op: o.sent, latencyMs: [] };
      entry.latencyMs.push(now - new Date(c.changed_at).getTime());
      t.sentByKind.set(key, entry);
    }
  } else if (o.kind === 'retry') {
    if (c.attempts + 1 > settings.retryAttempts)
      t.dead.push({ c, error: `${o.error} (after ${c.attempts + 1} attempts)` });
    else t.retries.push({ c, error: o.error, delay: o.retryAfterMs ?? backoffMs(settings, c.attempts) });
  } else if (o.kind === 'dead') {
    t.dead.push({ c, error: o.error });
  }
}

/**
 * A 412 (or a 404 on update): applies who wins (decision 8) and records the conflict. One branch per
 * resolution and per "the item is gone", each a few statements in the closing transaction.
 */
async function applyConflict(
  ctx: SyncContext,
  runner: QueryRunner,
  t: Settlement,
  c: ClaimedRow,
  o: ConflictOutcome,
  resolution: ConflictResolution,
): Promise<void> {
  const list = listFor(ctx, c.entity);
  const listId = ctx.listIds.get(list.entityName)!;
  if (resolution === 'sharepoint' && o.remoteDeleted) {
    // SharePoint's delete wins: the row goes, as a pull would have removed it (capture off).
    await suppressCapture(runner);
    await runner.query('SAVEPOINT tsp_remote_delete');
    try {
      await deleteRows(runner, list, [c.twenty_id]);
      await runner.query('RELEASE SAVEPOINT tsp_remote_delete');
      t.removed.push(c);
      t.done.push(c);
    } catch (error) {
      // Other rows still point at it (a foreign key): it cannot go, so it is sent again as a create.
      await runner.query('ROLLBACK TO SAVEPOINT tsp_remote_delete');
      if ((error as { code?: string }).code !== '23503') throw error;
      await execute(runner, sql.deleteSyncState(ctx.schema), [[c.entity], [c.twenty_id]]);
      t.retries.push({
        c,
        error: 'deleted in SharePoint but still referenced locally; creating it again',
        delay: 0,
      });
    }
  } else if (resolution === 'sharepoint') {
    await suppressCapture(runner);
    await applyRemoteRow(runner, list, o.remote.fields);
    t.synced.push({
      c,
      o: { kind: 'synced', itemId: o.itemId, etag: o.remote.etag, fields: o.remote.fields },
    });
    t.done.push(c);
  } else if (resolution === 'twenty' && o.remoteDeleted) {
    // Ours wins over the delete: forget the gone item, so the next send creates the record again.
    await execute(runner, sql.deleteSyncState(ctx.schema), [[c.entity], [c.twenty_id]]);
    t.retries.push({
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
    t.retries.push({ c, error: 'conflict resolved for the local version; re-sending', delay: 0 });
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
  t.events.push({
    type: 'conflict',
    entity: c.entity,
    twentyId: c.twenty_id,
    policy: list.conflictResolution,
    resolution,
  });
}

/** Writes the settlement: sync_state, sent outbox rows deleted, retries scheduled, dead letters, claims released. */
async function recordSettlement(
  ctx: SyncContext,
  runner: QueryRunner,
  workerId: number,
  claimed: ClaimedRow[],
  t: Settlement,
): Promise<void> {
  const s = ctx.schema;
  const { synced, removed, done, retries, dead, events } = t;
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
    // The items are gone from SharePoint: remembered as deleted, so that a load or fetch that read one before
    // it went does not store it again (cache/page.ts, relations).
    await execute(runner, sql.forgetDeletedItems(s), [
      removed.map((c) => c.entity),
      removed.map((c) => c.twenty_id),
    ]);
  }
  if (done.length > 0) {
    const gone = await rows<{ id: string }>(runner, sql.deleteSentOutbox(s), [
      workerId,
      done.map((c) => c.id),
    ]);
    t.sent = gone.length;
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
    t.deadLettered = moved.length;
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
