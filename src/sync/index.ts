import type { DataSource } from 'typeorm';
import type { Cache, LoadResult, VerifyReport } from '../cache/index.js';
import type { SyncContext, SyncEventListener } from '../context.js';
import { ClosedError } from '../errors/index.js';
import type { BudgetFigures } from '../graph/index.js';
import { Conflicts, type Inbound, type Webhooks } from '../inbound/index.js';
import type { ProcessTotals, StoredFigures, SyncMetrics } from '../metrics/index.js';
import { type MigrationOptions, type MigrationReport, migrateExistingRows } from '../migrate/index.js';
import {
  applyProvisioning,
  type ProvisioningPlan,
  type ProvisioningResult,
  planProvisioning,
} from '../provision/index.js';
import { type LoaderOptions, RelationLoaders } from '../relations/index.js';
import type { ListSchema, Priority } from '../schema/index.js';
import { recordBoundLists } from '../store/binding.js';
import { rows } from '../store/db.js';
import { cacheStates } from '../store/sql.js';
import type { DeadLetter, Writeback } from '../writeback/index.js';
import { assembleSync, type SyncParts, startSync } from './assemble.js';
import { readStoredFigures } from './figures.js';
import type { SharePointSyncOptions } from './options.js';

export type { SyncParts } from './assemble.js';
export type { SharePointSyncOptions } from './options.js';

export type EntityRef = Function | string;

export interface SyncStatus extends StoredFigures {
  /** The workspace id given to `attach` (multi-tenant apps). */
  workspace?: string;
  pendingByPriority: Record<Priority, number>;
  lists: {
    entity: string;
    title: string;
    priority: Priority;
    listId?: string;
    loadedAt?: string;
    itemCount?: number;
  }[];
  /** Counted in this process since attach. */
  totals: ProcessTotals;
  writeback: { enabled: boolean };
  /** The resource-unit budget: used this minute and today, remaining today, throttles (all processes when shared). */
  budget?: BudgetFigures;
}

/**
 * The public facade: attach it to an initialised TypeORM `DataSource` and keep using ordinary
 * repositories. SharePoint stays the source of truth; PostgreSQL is the cache.
 */
export class SharePointSync {
  private closed = false;

  private constructor(
    readonly context: SyncContext,
    private readonly listeners: Set<SyncEventListener>,
    private readonly writeback: Writeback,
    private readonly cache: Cache,
    private readonly metrics: SyncMetrics,
    private readonly options: SharePointSyncOptions,
    private readonly inbound: Inbound,
    /** Change notifications from SharePoint: `webhooks.handler()` and `webhooks.ensureSubscriptions()`. */
    readonly webhooks: Webhooks,
  ) {
    this.conflicts = new Conflicts(context, () => undefined);
  }

  /** Conflicts detected (inbound or on write-back) and the way to settle the ones waiting for a person. */
  readonly conflicts: Conflicts;

  /** Applies what changed in SharePoint now (one entity, or every list), without waiting for the poll. */
  async pull(entity?: EntityRef): Promise<LoadResult[]> {
    this.assertOpen('pull()');
    return this.inbound.pull(entity);
  }

  /**
   * Connects the DataSource to a SharePoint site: creates the library's tables, resolves the site,
   * bootstraps lists (unless disabled), installs change capture and starts the write-back worker.
   */
  static async attach(dataSource: DataSource, options: SharePointSyncOptions): Promise<SharePointSync> {
    return (await attachSync(dataSource, options)).sync;
  }

  /** @internal The assembler's way in (src/sync/assemble.ts); applications call `attach`. */
  static fromParts(parts: SyncParts): SharePointSync {
    const sync = new SharePointSync(
      parts.context,
      parts.listeners,
      parts.writeback,
      parts.cache,
      parts.metrics,
      parts.options,
      parts.inbound,
      parts.webhooks,
    );
    SharePointSync.closeWithDataSource(sync);
    return sync;
  }

  /** The synced lists as read from the entities' metadata. */
  get lists(): readonly ListSchema[] {
    return this.context.lists;
  }

  /** Listens to what the library does (sent batches, conflicts, load progress). Returns an unsubscribe function. */
  on(listener: SyncEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** What bootstrap would do, without changing anything (the CLI's `bootstrap --dry-run`). */
  async plan(): Promise<ProvisioningPlan> {
    this.assertOpen('plan()');
    return planProvisioning(this.context.graph, this.context.site.id, this.context.lists);
  }

  /** Creates missing lists and columns; never drops or alters anything. Idempotent. */
  async bootstrap(options: SharePointSyncOptions['bootstrap'] = {}): Promise<ProvisioningResult> {
    this.assertOpen('bootstrap()');
    const settings = {
      createLists: true,
      createColumns: true,
      failOnDrift: false,
      ...this.options.bootstrap,
      ...options,
    };
    const result = await applyProvisioning(this.context.graph, await this.plan(), settings);
    for (const [entity, listId] of result.listIds) this.context.listIds.set(entity, listId);
    await recordBoundLists(this.context.dataSource, this.context.schema, result.listIds);
    return result;
  }

  /** Loads the lists into PostgreSQL the first time they are needed; cached for the TTL. */
  async ensureLoaded(entities: EntityRef | EntityRef[]): Promise<LoadResult[]> {
    this.assertOpen('ensureLoaded()');
    return this.cache.ensureLoaded(entities);
  }

  /** Loads every synced list now. */
  async loadAll(): Promise<LoadResult[]> {
    this.assertOpen('loadAll()');
    return this.cache.loadAll();
  }

  /** Applies what changed in SharePoint since the last load (delta). */
  async refresh(entity: EntityRef): Promise<LoadResult> {
    this.assertOpen('refresh()');
    return this.cache.refresh(entity);
  }

  /** Drops every cached row and reloads from SharePoint; refuses while write-backs are pending unless `force`. */
  async rebuild(options?: { force?: boolean }): Promise<LoadResult[]> {
    this.assertOpen('rebuild()');
    return this.cache.rebuild(options);
  }

  /** Compares PostgreSQL with SharePoint list by list. */
  async verify(entities?: EntityRef | EntityRef[]): Promise<VerifyReport> {
    this.assertOpen('verify()');
    return this.cache.verify(entities);
  }

  /** Sends every pending change now; resolves when the outbox is empty, rejects naming dead-lettered records. */
  async flush(options?: { timeoutMs?: number }): Promise<{ sent: number }> {
    this.assertOpen('flush()');
    return this.writeback.flush(options);
  }

  /** Queues records changed by means the capture cannot see (e.g. rows written before attach). */
  async markDirty(entity: EntityRef, ids: string[]): Promise<number> {
    this.assertOpen('markDirty()');
    return this.writeback.markDirty(entity, ids);
  }

  async deadLetters(filter?: { entity?: string; twentyId?: string }): Promise<DeadLetter[]> {
    this.assertOpen('deadLetters()');
    return this.writeback.deadLetters(filter);
  }

  async retryDeadLetters(filter?: { entity?: string; ids?: number[] }): Promise<number> {
    this.assertOpen('retryDeadLetters()');
    return this.writeback.retryDeadLetters(filter);
  }

  /** Drops dead letters without sending them (all, or by entity / ids); the operator console's "discard". */
  async discardDeadLetters(filter?: { entity?: string; ids?: number[] }): Promise<number> {
    this.assertOpen('discardDeadLetters()');
    return this.writeback.discardDeadLetters(filter);
  }

  /**
   * Sends existing PostgreSQL rows that SharePoint does not hold yet (bootstrap, queue, drain, verify).
   * Resumable: re-running after an interruption continues and creates no duplicates. See docs/migration.md.
   */
  async migrate(options?: MigrationOptions): Promise<MigrationReport> {
    this.assertOpen('migrate()');
    return migrateExistingRows(
      {
        ctx: this.context,
        writeback: this.writeback,
        cache: this.cache,
        plan: () => this.plan(),
        bootstrap: () => this.bootstrap(),
      },
      options,
    );
  }

  /**
   * A fresh set of DataLoaders for one request (GraphQL operation, HTTP request): batched, cached for the
   * set's lifetime, backed by the cache and by SharePoint for ids the cache lacks. See docs/relations.md.
   */
  loaders(options?: LoaderOptions): RelationLoaders {
    this.assertOpen('loaders()');
    return new RelationLoaders(this.context, options);
  }

  /** Pending write-backs by priority and the age of the oldest one. */
  async pending() {
    this.assertOpen('pending()');
    return this.writeback.pending();
  }

  /** Pending write-backs, lag, dead letters, conflicts, per-list cache state and this process's totals. */
  async status(): Promise<SyncStatus> {
    this.assertOpen('status()');
    const figures = await readStoredFigures(this.context);
    const states = await rows<{
      entity: string;
      list_id: string | null;
      loaded_at: Date | null;
      item_count: number | null;
    }>(this.context.dataSource, cacheStates(this.context.schema));
    const byEntity = new Map(states.map((s) => [s.entity, s]));
    return {
      ...(this.options.workspace ? { workspace: this.options.workspace } : {}),
      ...figures,
      lists: this.context.lists.map((list) => {
        const state = byEntity.get(list.entityName);
        const listId = this.context.listIds.get(list.entityName) ?? state?.list_id ?? undefined;
        return {
          entity: list.entityName,
          title: list.title,
          priority: list.priority,
          ...(listId ? { listId } : {}),
          ...(state?.loaded_at ? { loadedAt: state.loaded_at.toISOString() } : {}),
          ...(state?.item_count != null ? { itemCount: state.item_count } : {}),
        };
      }),
      totals: this.metrics.processTotals(),
      writeback: { enabled: this.options.writeback?.enabled !== false },
      budget: await this.context.graph.budgetFigures(),
    };
  }

  /**
   * Stops the worker after its in-flight batch. The DataSource stays open: it is the application's.
   * Destroying the DataSource closes the sync too (see `closeWithDataSource`).
   */
  /** Calls after `close()` are refused: the worker, the poll and the gauges are gone. */
  private assertOpen(call: string): void {
    if (this.closed) throw new ClosedError('SharePointSync', `sync.${call}`, 'attach again to use the site');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    closingWith.get(this.context.dataSource)?.delete(this);
    this.webhooks.stop();
    await this.inbound.stop();
    await this.writeback.stop();
    this.metrics.close();
  }

  /**
   * A script that destroys its DataSource and forgets `sync.close()` must still exit: the DataSource's
   * `destroy()` first closes every sync attached to it (worker, poll, renewals, the worker's own
   * connection), warning when changes are still unsent — they stay in the outbox for the next attach.
   */
  private static closeWithDataSource(sync: SharePointSync): void {
    const dataSource = sync.context.dataSource;
    let syncs = closingWith.get(dataSource);
    if (!syncs) {
      const attached = new Set<SharePointSync>();
      syncs = attached;
      closingWith.set(dataSource, attached);
      const destroy = dataSource.destroy;
      dataSource.destroy = async function (this: DataSource): Promise<void> {
        await Promise.allSettled([...attached].map((s) => s.closeBeforeDestroy()));
        return destroy.call(this);
      };
    }
    syncs.add(sync);
  }

  private async closeBeforeDestroy(): Promise<void> {
    if (this.closed) return;
    try {
      const { pending, deadLetters } = await readStoredFigures(this.context);
      if (pending + deadLetters > 0) {
        const message =
          `typeorm-sharepoint: the DataSource is destroyed with ${pending + deadLetters} change(s) not in ` +
          `SharePoint yet (${pending} pending, ${deadLetters} dead-lettered). They stay in the outbox and ` +
          'the next attach sends them; `await sync.flush()` before destroying the DataSource sends them now.';
        this.context.logger.warn(message, { pending, deadLetters });
        // Without a logger of the application's, the warning must still be seen.
        if (!this.options.logger) process.emitWarning(message, { code: 'TYPEORM_SHAREPOINT_UNSENT' });
      }
    } catch {
      // Counting is best effort: closing is what matters.
    }
    await this.close();
  }
}

/**
 * Assembles, wraps and starts one sync (what `SharePointSync.attach` does), returning its parts too:
 * `SharePointWorkspaces` drives every workspace's write-back from one pool, and tests that must reach one
 * concern directly (run one write-back cycle, forget the cache's freshness) hold it here, not by a cast.
 */
export async function attachSync(
  dataSource: DataSource,
  options: SharePointSyncOptions,
): Promise<{ sync: SharePointSync; parts: SyncParts }> {
  const parts = await assembleSync(dataSource, options);
  const sync = SharePointSync.fromParts(parts);
  await startSync(parts, () => sync.close());
  return { sync, parts };
}

/** The syncs attached to each DataSource, closed when it is destroyed. */
const closingWith = new WeakMap<DataSource, Set<SharePointSync>>();
