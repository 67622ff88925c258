import { listFor, type SyncContext } from '../context.js';
import { ConfigError, SharePointSyncError, UsageError } from '../errors/index.js';
import type { Priority } from '../schema/index.js';
import { installCaptureTriggers, priorityNumber } from '../store/capture.js';
import { execute, isConnectionLoss, retryOnConnectionLoss, rows } from '../store/db.js';
import * as sql from '../store/sql.js';
import { OwnClaims } from './claim.js';
import { type ConflictResolution, type CycleSettings, runCycle, type WritebackConflict } from './cycle.js';
import { WorkerSession } from './session.js';
import { installValidation } from './validation.js';

export type { ConflictResolution, WritebackConflict } from './cycle.js';

export interface WritebackOptions {
  /** false: changes are still captured in the outbox, but nothing is sent. */
  enabled: boolean;
  /** Requests per `$batch` (1..20), default 20. */
  batchSize: number;
  /** Retries of a retryable failure before the record is dead-lettered, default 5. */
  retryAttempts: number;
  /** Base of the exponential backoff between retries, default 1000 ms. */
  retryDelayMs: number;
  /** P1 batching window, default 10 s. */
  batchWindowSeconds: number;
  /** Fallback poll when no notification arrives, default 1000 ms. */
  pollIntervalMs?: number;
  /** Start a worker in this process (default true). */
  runWorker?: boolean;
  /** Parallel claim loops in one worker, default 4. */
  concurrency?: number;
  /** Hour of day (UTC) at which P3 lists are sent, default 2. */
  dailyHourUtc?: number;
  /** Called on a 412 (the item changed in SharePoint since our last sync). Default: SharePoint wins. */
  onConflict?: (conflict: WritebackConflict) => Promise<ConflictResolution>;
}

export interface DeadLetter {
  id: number;
  entity: string;
  twentyId: string;
  op: string;
  priority: Priority;
  error: string;
  attempts: number;
  failedAt: Date;
}

/** `flush()` could not send everything: these records are dead-lettered (see `sync.deadLetters()`). */
export class WritebackFlushError extends SharePointSyncError {
  override name = 'WritebackFlushError';
  readonly code = 'FLUSH_DEAD_LETTERED';
  constructor(readonly deadLetters: DeadLetter[]) {
    super(
      `typeorm-sharepoint: flush finished with ${deadLetters.length} dead-lettered record(s): ${deadLetters
        .slice(0, 5)
        .map((d) => `${d.entity} ${d.twentyId} (${d.error})`)
        .join('; ')}${deadLetters.length > 5 ? '; …' : ''}. Fix the cause and call sync.retryDeadLetters().`,
    );
  }
}

/** `flush()` ran out of time with records still in the outbox (retrying, or claimed by another worker). */
export class FlushTimeoutError extends SharePointSyncError {
  override name = 'FlushTimeoutError';
  readonly code = 'FLUSH_TIMEOUT';
  constructor(
    readonly pending: number,
    readonly timeoutMs: number,
  ) {
    super(
      `typeorm-sharepoint: flush timed out after ${timeoutMs} ms with ${pending} record(s) still in the outbox; ` +
        'see sync.status() (a SharePoint outage or throttling keeps them retrying), or pass a longer timeoutMs.',
    );
  }
}

const PRIORITIES: Priority[] = ['P0', 'P1', 'P2', 'P3'];

/**
 * The write-back side of the outbox: capture (install), the worker (start/stop), and the operations the
 * application calls through `SharePointSync` (flush, markDirty, dead letters, pending).
 */
export class Writeback {
  private readonly settings: CycleSettings;
  private session: WorkerSession | undefined;
  private readonly claims = new OwnClaims();
  private running = false;
  private loops: Promise<void>[] = [];
  private wakers = new Set<() => void>();
  private readonly wakeListeners = new Set<() => void>();

  constructor(
    private readonly ctx: SyncContext,
    private readonly options: WritebackOptions,
  ) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1 || options.batchSize > 20) {
      throw new ConfigError(
        'writeback.batchSize',
        'a whole number from 1 to 20 (Graph $batch limit)',
        String(options.batchSize),
      );
    }
    this.settings = {
      batchSize: options.batchSize,
      retryAttempts: options.retryAttempts,
      retryDelayMs: options.retryDelayMs,
      batchWindowSeconds: options.batchWindowSeconds,
      dailyHourUtc: options.dailyHourUtc ?? 2,
      ...(options.onConflict ? { onConflict: options.onConflict } : {}),
    };
  }

  /** Capture triggers on every synced table and the validation subscriber. Safe to call again. */
  async install(): Promise<void> {
    await installCaptureTriggers(this.ctx.dataSource, this.ctx.schema, this.ctx.lists);
    installValidation(this.ctx.dataSource, this.ctx.lists);
  }

  /** Starts the worker (unless disabled or `runWorker: false`). */
  start(): void {
    if (this.running || !this.options.enabled || this.options.runWorker === false) return;
    this.running = true;
    const concurrency = Math.max(1, this.options.concurrency ?? 4);
    for (let i = 0; i < concurrency; i++) this.loops.push(this.loop());
  }

  /** Stops the worker after its in-flight batches finish. */
  async stop(): Promise<void> {
    this.running = false;
    for (const wake of this.wakers) wake();
    await Promise.allSettled(this.loops);
    this.loops = [];
    const session = this.session;
    this.session = undefined;
    await session?.close().catch(() => undefined);
  }

  /** The worker id, once its lock and LISTEN are held (taken again first if the connection was lost). */
  private workerId(): Promise<number> {
    this.session ??= new WorkerSession(this.ctx, () => {
      for (const wake of this.wakers) wake();
      for (const listener of this.wakeListeners) listener();
    });
    return this.session.ensure();
  }

  /** A statement failed: if the connection was lost, find out at once whether the session's went too. */
  private noticeFailure(error: unknown): void {
    if (isConnectionLoss(error)) void this.session?.check();
  }

  private async loop(): Promise<void> {
    const poll = this.options.pollIntervalMs ?? 1000;
    let failures = 0;
    while (this.running) {
      let claimed = 0;
      try {
        const id = await this.workerId();
        claimed = (await runCycle(this.ctx, this.settings, id, { ignoreWindows: false }, this.claims))
          .claimed;
        failures = 0;
      } catch (error) {
        failures++;
        if (this.running) this.ctx.logger.error('write-back cycle failed', { error: String(error) });
        this.noticeFailure(error);
      }
      // After a failure, look again soon (not only at the next poll or NOTIFY).
      if (claimed === 0 && this.running)
        await this.sleep(failures ? Math.min(poll, 100 * 2 ** failures) : poll);
    }
  }

  /**
   * One claim-and-send pass for a worker pool that drives several instances itself (`runWorker: false`,
   * e.g. `SharePointWorkspaces`): at most `limit` records (default `batchSize`), due ones only unless
   * `ignoreWindows`. Returns how many rows were claimed and sent (0 claimed: nothing due).
   */
  async runOnce(
    options: { limit?: number; ignoreWindows?: boolean } = {},
  ): Promise<{ claimed: number; sent: number }> {
    if (!this.options.enabled) return { claimed: 0, sent: 0 };
    const workerId = await this.workerId();
    const batchSize = Math.min(
      this.settings.batchSize,
      Math.max(1, options.limit ?? this.settings.batchSize),
    );
    const result = await runCycle(
      this.ctx,
      { ...this.settings, batchSize },
      workerId,
      { ignoreWindows: options.ignoreWindows ?? false },
      this.claims,
    ).catch((error: unknown) => {
      this.noticeFailure(error);
      throw error;
    });
    return { claimed: result.claimed, sent: result.sent };
  }

  /** Calls `listener` when a P0 change is committed (PostgreSQL NOTIFY) or dead letters are re-queued. */
  onWake(listener: () => void): () => void {
    this.wakeListeners.add(listener);
    void this.workerId().catch(() => undefined);
    return () => this.wakeListeners.delete(listener);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  /**
   * Sends everything now, ignoring the priority windows, and resolves when the outbox is empty. Rejects
   * with `WritebackFlushError` naming the records dead-lettered during this flush.
   */
  async flush(options: { timeoutMs?: number } = {}): Promise<{ sent: number }> {
    if (!this.options.enabled) {
      throw new UsageError(
        'typeorm-sharepoint: write-back is disabled (writeback.enabled: false, SHAREPOINT_WRITEBACK_ENABLED=false): flush() cannot send.',
      );
    }
    const timeoutMs = options.timeoutMs ?? 5 * 60_000;
    const deadline = Date.now() + timeoutMs;
    // A lost connection (a killed backend, a PostgreSQL restart) is not the end of a flush: each step runs again
    // until the deadline, as the worker's next cycle would (a cycle cut half-way leaves claims that expire, and
    // a send whose outcome was not settled is recognised when it is sent again).
    const again = <T>(step: () => Promise<T>) =>
      retryOnConnectionLoss(step, {
        timeoutMs: Math.max(0, deadline - Date.now()),
        onRetry: (error) => this.noticeFailure(error),
      });
    const [mark] = await again(() =>
      rows<{ id: string }>(this.ctx.dataSource, sql.lastDeadLetterId(this.ctx.schema)),
    );
    let sent = 0;
    for (;;) {
      const cycles = await again(async () => {
        const workerId = await this.workerId();
        // All cycles end before a failure is reported, so a retry never runs beside cycles still in flight.
        const settled = await Promise.allSettled(
          Array.from({ length: Math.max(1, this.options.concurrency ?? 4) }, () =>
            runCycle(this.ctx, this.settings, workerId, { ignoreWindows: true }, this.claims),
          ),
        );
        const done = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
        sent += done.reduce((n, c) => n + c.sent, 0);
        const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (failed) throw failed.reason;
        return done;
      });
      if (cycles.some((c) => c.claimed > 0)) continue;
      const [size] = await again(() =>
        rows<{ n: number }>(this.ctx.dataSource, sql.outboxSize(this.ctx.schema)),
      );
      if (!size?.n) break;
      if (Date.now() > deadline) {
        throw new FlushTimeoutError(size.n, timeoutMs);
      }
      // Rows in retry backoff or claimed by another worker: look again shortly.
      const [next] = await again(() =>
        rows<{ s: number | null }>(this.ctx.dataSource, sql.nextDueInSeconds(this.ctx.schema), [0, 0]),
      );
      await new Promise((r) => setTimeout(r, Math.min(250, Math.max(10, (next?.s ?? 0.05) * 1000))));
    }
    const dead = await again(() => this.queryDeadLetters(null, null, mark?.id ?? '0'));
    if (dead.length > 0) throw new WritebackFlushError(dead);
    return { sent };
  }

  /** Queues records whose rows changed without the trigger seeing it (before install, triggers disabled). */
  async markDirty(entity: Function | string, ids: string[]): Promise<number> {
    const list = listFor(this.ctx, entity);
    if (ids.length === 0) return 0;
    const result = await execute(this.ctx.dataSource, sql.enqueueRecords(this.ctx.schema), [
      list.entityName,
      [...new Set(ids.map(String))],
      priorityNumber(list),
      'upsert',
    ]);
    return result.affected ?? ids.length;
  }

  async deadLetters(filter: { entity?: string; twentyId?: string } = {}): Promise<DeadLetter[]> {
    return this.queryDeadLetters(filter.entity ?? null, filter.twentyId ?? null, null);
  }

  private async queryDeadLetters(
    entity: string | null,
    twentyId: string | null,
    afterId: string | null,
  ): Promise<DeadLetter[]> {
    const found = await rows<{
      id: number;
      entity: string;
      twenty_id: string;
      op: string;
      priority: number;
      error: string;
      attempts: number;
      failed_at: Date;
    }>(this.ctx.dataSource, sql.selectDeadLetters(this.ctx.schema), [entity, twentyId, afterId]);
    return found.map((d) => ({
      id: d.id,
      entity: d.entity,
      twentyId: d.twenty_id,
      op: d.op,
      priority: PRIORITIES[d.priority] ?? 'P1',
      error: d.error,
      attempts: d.attempts,
      failedAt: d.failed_at,
    }));
  }

  /** Moves dead letters back into the outbox (all, or by entity / dead-letter ids). Returns how many. */
  async retryDeadLetters(filter: { entity?: string; ids?: number[] } = {}): Promise<number> {
    const [row] = await rows<{ n: number }>(this.ctx.dataSource, sql.requeueDeadLetters(this.ctx.schema), [
      filter.entity ?? null,
      filter.ids ?? null,
    ]);
    for (const wake of this.wakers) wake();
    for (const listener of this.wakeListeners) listener();
    return row?.n ?? 0;
  }

  /**
   * Drops dead letters without sending them (all, or by entity / dead-letter ids). The records keep their
   * local state in PostgreSQL; SharePoint keeps its own (`verify` shows the difference). Returns how many.
   */
  async discardDeadLetters(filter: { entity?: string; ids?: number[] } = {}): Promise<number> {
    const [row] = await rows<{ n: number }>(this.ctx.dataSource, sql.discardDeadLetters(this.ctx.schema), [
      filter.entity ?? null,
      filter.ids ?? null,
    ]);
    return row?.n ?? 0;
  }

  async pending(): Promise<{
    total: number;
    byPriority: Record<Priority, number>;
    oldestChangeAgeSeconds: number;
  }> {
    const found = await rows<{ priority: number; n: number; oldest: number }>(
      this.ctx.dataSource,
      sql.pendingCounts(this.ctx.schema),
    );
    const byPriority: Record<Priority, number> = { P0: 0, P1: 0, P2: 0, P3: 0 };
    let oldest = 0;
    for (const r of found) {
      byPriority[PRIORITIES[r.priority] ?? 'P1'] += r.n;
      oldest = Math.max(oldest, r.oldest);
    }
    return { total: found.reduce((n, r) => n + r.n, 0), byPriority, oldestChangeAgeSeconds: oldest };
  }
}
