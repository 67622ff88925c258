import type { SyncContext } from '../context.js';
import type { ConflictResolution } from '../schema/index.js';
import { execute } from '../store/db.js';
import * as sql from '../store/sql.js';
import { claimDue, OwnClaims } from './claim.js';
import type { Fields } from './records.js';
import { sendClaimed } from './send.js';
import { settle } from './settle.js';

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

export type { ConflictResolution } from '../schema/index.js';

export interface CycleSettings {
  batchSize: number;
  retryAttempts: number;
  retryDelayMs: number;
  batchWindowSeconds: number;
  dailyHourUtc: number;
  onConflict?: (conflict: WritebackConflict) => Promise<ConflictResolution>;
}

/**
 * One pass of a worker — claim (claim.ts), send (send.ts), settle (settle.ts): claim due rows, read their
 * current state, send, and record the outcome. Returns how many rows were claimed (0: nothing due).
 */
export async function runCycle(
  ctx: SyncContext,
  settings: CycleSettings,
  workerId: number,
  options: { ignoreWindows: boolean },
  claims: OwnClaims = new OwnClaims(),
): Promise<{ claimed: number; sent: number; deadLettered: number }> {
  const claimed = await claimDue(ctx, settings, workerId, options, claims);
  if (claimed.length === 0) return { claimed: 0, sent: 0, deadLettered: 0 };
  const ids = claimed.map((c) => c.id);
  try {
    const sent = await sendClaimed(ctx, settings, claimed);
    const { sent: count, deadLettered } = await settle(ctx, settings, workerId, claimed, sent);
    ctx.logger.debug('write-back cycle', {
      claimed: claimed.length,
      requests: sent.requests,
      sent: count,
      deadLettered,
    });
    return { claimed: claimed.length, sent: count, deadLettered };
  } catch (error) {
    // Nothing was recorded: free the claims so the records go out again (or let the next sweep do it).
    await execute(ctx.dataSource, sql.releaseClaims(ctx.schema), [workerId, ids]).catch(() =>
      claims.markSuspect(),
    );
    throw error;
  } finally {
    claims.finish(ids);
  }
}
