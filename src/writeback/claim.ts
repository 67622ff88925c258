import type { SyncContext } from '../context.js';
import { execute, rows, yieldingTransaction } from '../store/db.js';
import * as sql from '../store/sql.js';
import type { CycleSettings } from './cycle.js';

/** An outbox row a worker claimed (`sql.claimDue`). */
export interface ClaimedRow {
  id: string;
  entity: string;
  twenty_id: string;
  op: string;
  priority: number;
  version: number;
  attempts: number;
  changed_at: Date;
}

/**
 * Claim: frees what dead workers (and this worker's lost cycles) still hold, then claims the due outbox rows
 * (`FOR UPDATE SKIP LOCKED` in a short statement, never held during HTTP).
 */
export async function claimDue(
  ctx: SyncContext,
  settings: CycleSettings,
  workerId: number,
  options: { ignoreWindows: boolean },
  claims: OwnClaims,
): Promise<ClaimedRow[]> {
  const s = ctx.schema;
  await claims.sweep((keep) => execute(ctx.dataSource, sql.releaseOwnClaimsExcept(s), [workerId, keep]));
  await yieldingTransaction(ctx.dataSource, (runner) =>
    execute(runner, sql.releaseOrphanClaims(s, workerId)),
  );
  return claims.claim(() =>
    rows<ClaimedRow>(ctx.dataSource, sql.claimDue(s), [
      workerId,
      settings.batchWindowSeconds,
      settings.dailyHourUtc,
      options.ignoreWindows,
      settings.batchSize,
    ]),
  );
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
