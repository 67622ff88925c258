import type { QueryRunner } from 'typeorm';
import type { PendingLocalChange } from '../cache/loader.js';
import { listFor, type SyncContext } from '../context.js';
import {
  type ConflictPolicy,
  fieldsToRow,
  type ListSchema,
  quoteIdentifier,
  quoteTablePath,
  rowToFields,
} from '../schema/index.js';
import { suppressCapture } from '../store/capture.js';
import { execute, rows, transaction } from '../store/db.js';
import { deleteRows, upsertRows } from '../store/rows.js';
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
  /** `sharepoint`, `twenty`/`local`, `merged`; null while open. */
  resolution: string | null;
}

/** How a person settles a conflict: keep SharePoint's version, keep the local one, or give merged field values. */
export type ConflictChoice = 'sharePoint' | 'local' | { fields: Record<string, unknown> };

export class ConflictNotFoundError extends Error {
  override name = 'ConflictNotFoundError';
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
 * page's transaction). Returns the records whose SharePoint version is applied.
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
      let resolution: 'sharepoint' | 'twenty' | null;
      if (policy === 'sharePointPriority') resolution = 'sharepoint';
      else if (policy === 'twentyPriority') resolution = 'twenty';
      else if (policy === 'lastWriteWins') {
        const remoteAt = change.lastModified ? Date.parse(change.lastModified) : Number.NaN;
        resolution =
          !Number.isNaN(remoteAt) && remoteAt > new Date(local.changed_at).getTime()
            ? 'sharepoint'
            : 'twenty';
      } else resolution = null;

      const row = await currentRow(runner, list, change.twentyId);
      const localFields = row ? rowToFields(list, row) : null;
      if (resolution === 'sharepoint') {
        apply.add(change.twentyId);
        await execute(runner, sql.dropOutboxRecord(s), [list.entityName, change.twentyId]);
      } else if (resolution === 'twenty') {
        // Ours is sent next, against SharePoint's current version (no 412 round trip): adopt its eTag and values.
        if (change.deleted) {
          await execute(runner, `DELETE FROM "${s}".sync_state WHERE entity = $1 AND twenty_id = $2`, [
            list.entityName,
            change.twentyId,
          ]);
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
        resolution,
        change.etag,
        change.lastModified,
        new Date(local.changed_at).toISOString(),
      ]);
      ctx.emit({
        type: 'conflict',
        entity: list.entityName,
        twentyId: change.twentyId,
        policy,
        resolution: resolution ?? 'manualReview',
      });
      ctx.logger.warn('typeorm-sharepoint: conflict', {
        entity: list.entityName,
        twentyId: change.twentyId,
        policy,
        resolution: resolution ?? 'waiting for review',
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
   * Settles an open conflict. `'sharePoint'`: the cache takes SharePoint's version and the local change is
   * dropped. `'local'`: the local version is sent (over SharePoint's). `{ fields }`: these Graph field values
   * (e.g. a merge) become the record's state in PostgreSQL and are sent.
   */
  async resolve(id: number, choice: ConflictChoice): Promise<Conflict> {
    const s = this.ctx.schema;
    const resolved = await transaction(this.ctx.dataSource, async (runner) => {
      const [row] = await rows<ConflictRow>(
        runner,
        `SELECT * FROM "${s}".conflicts WHERE id = $1 AND resolved_at IS NULL FOR UPDATE`,
        [id],
      );
      if (!row) throw new ConflictNotFoundError(id);
      const list = listFor(this.ctx, row.entity);
      const key = [list.entityName, row.twenty_id];
      let resolution: string;
      if (choice === 'sharePoint') {
        await suppressCapture(runner);
        if (row.remote) {
          const fields = { ...row.remote, [list.idField.name]: row.twenty_id };
          await upsertRows(runner, list, [fieldsToRow(list, fields)]);
          await execute(runner, sql.setSyncEtag(s), [...key, row.remote_etag, JSON.stringify(row.remote)]);
        } else {
          await deleteRows(runner, list, [row.twenty_id]);
          await execute(runner, `DELETE FROM "${s}".sync_state WHERE entity = $1 AND twenty_id = $2`, key);
        }
        await execute(runner, sql.dropOutboxRecord(s), key);
        resolution = 'sharepoint';
      } else {
        if (typeof choice === 'object') {
          const merged = { ...(row.remote ?? {}), ...choice.fields, [list.idField.name]: row.twenty_id };
          await suppressCapture(runner);
          await upsertRows(runner, list, [fieldsToRow(list, merged)]);
          resolution = 'merged';
        } else {
          resolution = 'local';
        }
        // Sent over SharePoint's current version: its eTag and values become what we know it holds.
        if (row.remote)
          await execute(runner, sql.setSyncEtag(s), [...key, row.remote_etag, JSON.stringify(row.remote)]);
        else await execute(runner, `DELETE FROM "${s}".sync_state WHERE entity = $1 AND twenty_id = $2`, key);
        await execute(runner, sql.enqueueRecords(s), [
          list.entityName,
          [row.twenty_id],
          Number(list.priority.slice(1)),
          'upsert',
        ]);
        await execute(runner, sql.releaseHeld(s), key);
      }
      await execute(runner, sql.resolveConflict(s), [id, resolution]);
      return rows<ConflictRow>(runner, `SELECT * FROM "${s}".conflicts WHERE id = $1`, [id]);
    });
    this.wake();
    return toConflict(resolved[0]!);
  }
}
