import type { QueryRunner } from 'typeorm';
import type { PendingLocalChange } from '../cache/loader.js';
import { listFor, type SyncContext } from '../context.js';
import { SharePointSyncError, UsageError } from '../errors/index.js';
import {
  type ConflictChoice,
  type ConflictPolicy,
  decideConflict,
  fieldsToRow,
  type ListSchema,
  quoteIdentifier,
  quoteTablePath,
  rowToFields,
  winnerOf,
} from '../schema/index.js';
import { priorityNumber, suppressCapture } from '../store/capture.js';
import { execute, rows, transaction } from '../store/db.js';
import { deleteRows, deleteSyncStates, upsertRows } from '../store/rows.js';
import * as sql from '../store/sql.js';

/** A conflict as `sync.conflicts.list()` returns it. */
export interface Conflict {
  id: number;
  entity: string;
  twentyId: string;
  policy: ConflictPolicy;
  reason: string;
  /** The local version (Graph field values), or null when deleted locally. */
  local: Record<string, unknown> | null;
  /** SharePoint's version, or null when deleted there. */
  remote: Record<string, unknown> | null;
  detectedAt: Date;
  resolvedAt: Date | null;
  /**
   * Who won (`sharepoint`, `twenty`: schema/conflict.ts), or `merged` (a person gave the values); null while
   * open. Conflicts a person resolved for the local version before this vocabulary was one read `local`.
   */
  resolution: string | null;
}

export type { ConflictChoice } from '../schema/index.js';

export class ConflictNotFoundError extends SharePointSyncError {
  override name = 'ConflictNotFoundError';
  readonly code = 'CONFLICT_NOT_FOUND';
  constructor(readonly id: number) {
    super(`typeorm-sharepoint: no open conflict with id ${id}`);
  }
}

interface ConflictRow {
  id: string;
  entity: string;
  twenty_id: string;
  policy: ConflictPolicy;
  reason: string;
  local: Record<string, unknown> | null;
  remote: Record<string, unknown> | null;
  remote_etag: string | null;
  remote_modified_at: Date | null;
  local_changed_at: Date | null;
  detected_at: Date;
  resolved_at: Date | null;
  resolution: string | null;
}

async function currentRow(
  runner: QueryRunner,
  list: ListSchema,
  twentyId: string,
): Promise<Record<string, unknown> | undefined> {
  const [row] = await rows<Record<string, unknown>>(
    runner,
    `SELECT * FROM ${quoteTablePath(list.tablePath)} WHERE ${quoteIdentifier(list.primaryKey)}::text = $1`,
    [twentyId],
  );
  return row;
}

/**
 * The conflict policies for SharePoint changes that meet an unsent local change (called by the loader inside the
 * page's transaction). Returns the records whose SharePoint version is applied. One loop over the page's
 * conflicts: each one is decided (decideConflict), applied and recorded in the page's transaction, in order.
 */
export function pendingLocalHandler(ctx: SyncContext) {
  return async (
    runner: QueryRunner,
    list: ListSchema,
    changes: PendingLocalChange[],
  ): Promise<Set<string>> => {
    const apply = new Set<string>();
    const s = ctx.schema;
    const ids = changes.map((c) => c.twentyId);
    const outbox = new Map(
      (
        await rows<{ twenty_id: string; held: boolean; changed_at: Date }>(runner, sql.outboxRowsFor(s), [
          list.entityName,
          ids,
        ])
      ).map((r) => [r.twenty_id, r]),
    );
    const open = new Map(
      (
        await rows<{ id: string; twenty_id: string }>(runner, sql.openConflictsFor(s), [list.entityName, ids])
      ).map((r) => [r.twenty_id, r.id]),
    );
    for (const change of changes) {
      const local = outbox.get(change.twentyId);
      if (!local) continue;
      const openId = open.get(change.twentyId);
      if (openId) {
        // Already waiting for a person: keep the newest SharePoint version beside it, apply nothing.
        await execute(runner, sql.updateOpenConflictRemote(s), [
          openId,
          change.deleted ? null : JSON.stringify(change.fields),
          change.etag,
          change.lastModified,
        ]);
        continue;
      }
      const policy = list.conflictResolution;
      const resolution = decideConflict(policy, change.lastModified, local.changed_at);

      const row = await currentRow(runner, list, change.twentyId);
      const localFields = row ? rowToFields(list, row) : null;
      if (resolution === 'sharepoint') {
        apply.add(change.twentyId);
        await execute(runner, sql.dropOutboxRecord(s), [list.entityName, change.twentyId]);
      } else if (resolution === 'twenty') {
        // Ours is sent next, against SharePoint's current version (no 412 round trip): adopt its eTag and values.
        if (change.deleted) {
          await deleteSyncStates(runner, s, list.entityName, [change.twentyId]);
        } else {
          await execute(runner, sql.setSyncEtag(s), [
            list.entityName,
            change.twentyId,
            change.etag,
            JSON.stringify(change.fields),
          ]);
        }
      } else {
        await execute(runner, sql.holdOutbox(s), [list.entityName, change.twentyId]);
      }
      await execute(runner, sql.insertConflict(s), [
        list.entityName,
        change.twentyId,
        policy,
        `${change.deleted ? 'deleted' : 'changed'} in SharePoint while a local change was waiting to be sent`,
        localFields ? JSON.stringify(localFields) : null,
        change.deleted ? null : JSON.stringify(change.fields),
        resolution === 'keep' ? null : resolution,
        change.etag,
        change.lastModified,
        new Date(local.changed_at).toISOString(),
      ]);
      ctx.emit({
        type: 'conflict',
        entity: list.entityName,
        twentyId: change.twentyId,
        policy,
        resolution,
      });
      ctx.logger.warn('typeorm-sharepoint: conflict', {
        entity: list.entityName,
        twentyId: change.twentyId,
        policy,
        resolution: resolution === 'keep' ? 'waiting for review' : resolution,
      });
    }
    return apply;
  };
}

function toConflict(r: ConflictRow): Conflict {
  return {
    id: Number(r.id),
    entity: r.entity,
    twentyId: r.twenty_id,
    policy: r.policy,
    reason: r.reason,
    local: r.local,
    remote: r.remote,
    detectedAt: r.detected_at,
    resolvedAt: r.resolved_at,
    resolution: r.resolution,
  };
}

/** `sync.conflicts`: what was detected, and the way out of a manual review. */
export class Conflicts {
  constructor(
    private readonly ctx: SyncContext,
    private readonly wake: () => void,
  ) {}

  async list(filter: { entity?: string; open?: boolean } = {}): Promise<Conflict[]> {
    const found = await rows<ConflictRow>(this.ctx.dataSource, sql.selectConflicts(this.ctx.schema), [
      filter.entity ?? null,
      filter.open ?? null,
    ]);
    return found.map(toConflict);
  }

  /**
   * Settles an open conflict. `'sharepoint'` (alias `'sharePoint'`): the cache takes SharePoint's version and
   * the local change is dropped. `'twenty'` (alias `'local'`): the local version is sent (over SharePoint's).
   * `{ fields }`: these Graph field values (e.g. a merge) become the record's state in PostgreSQL and are sent.
   */
  async resolve(id: number, choice: ConflictChoice): Promise<Conflict> {
    const s = this.ctx.schema;
    const winner = winnerOf(choice);
    if (winner === undefined && (typeof choice !== 'object' || choice === null || !('fields' in choice))) {
      throw new UsageError(
        `typeorm-sharepoint: conflicts.resolve(${id}, ${JSON.stringify(choice)}): the choice must be 'sharepoint', 'twenty' or { fields } ('sharePoint' and 'local' are accepted as aliases)`,
      );
    }
    const resolved = await transaction(this.ctx.dataSource, async (runner) => {
      const [row] = await rows<ConflictRow>(runner, sql.lockOpenConflict(s), [id]);
      if (!row) throw new ConflictNotFoundError(id);
      const list = listFor(this.ctx, row.entity);
      const key = [list.entityName, row.twenty_id];
      let resolution: string;
      if (winner === 'sharepoint') {
        await suppressCapture(runner);
        if (row.remote) {
          const fields = { ...row.remote, [list.idField.name]: row.twenty_id };
          await upsertRows(runner, list, [fieldsToRow(list, fields)]);
          await execute(runner, sql.setSyncEtag(s), [...key, row.remote_etag, JSON.stringify(row.remote)]);
        } else {
          await deleteRows(runner, list, [row.twenty_id]);
          await deleteSyncStates(runner, s, list.entityName, [row.twenty_id]);
        }
        await execute(runner, sql.dropOutboxRecord(s), key);
        resolution = 'sharepoint';
      } else {
        if (winner === undefined && typeof choice === 'object') {
          const merged = { ...(row.remote ?? {}), ...choice.fields, [list.idField.name]: row.twenty_id };
          await suppressCapture(runner);
          await upsertRows(runner, list, [fieldsToRow(list, merged)]);
          resolution = 'merged';
        } else {
          resolution = 'twenty';
        }
        // Sent over SharePoint's current version: its eTag and values become what we know it holds.
        if (row.remote)
          await execute(runner, sql.setSyncEtag(s), [...key, row.remote_etag, JSON.stringify(row.remote)]);
        else await deleteSyncStates(runner, s, list.entityName, [row.twenty_id]);
        await execute(runner, sql.enqueueRecords(s), [
          list.entityName,
          [row.twenty_id],
          priorityNumber(list),
          'upsert',
        ]);
        await execute(runner, sql.releaseHeld(s), key);
      }
      await execute(runner, sql.resolveConflict(s), [id, resolution]);
      return rows<ConflictRow>(runner, sql.selectConflict(s), [id]);
    });
    this.wake();
    return toConflict(resolved[0]!);
  }
}
