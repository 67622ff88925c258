import type { DataSource } from 'typeorm';
import { type Logger, silentLogger } from '../context.js';
import { ClosedError, UsageError } from '../errors/index.js';
import { attachSync, type SharePointSync } from '../sync/index.js';
import { type Claim, claimSchemaAndSite } from './claims.js';
import {
  UnknownWorkspaceError,
  WorkspaceAttachError,
  WorkspaceCapacityError,
  WorkspaceDisabledError,
  WorkspaceNotDrainedError,
} from './errors.js';
import { checkWorkspacesOptions, DefaultCredentialWarning, workspaceSyncOptions } from './options.js';
import { type PoolTurn, WorkerPool } from './pool.js';
import { Room } from './room.js';
import { warnOfLegacySchema } from './schema-name.js';
import { parseWorkspaceSettings, WorkspaceSettingsError } from './settings.js';
import { StrandedWatch } from './stranded.js';
import { TenantBudgets } from './tenants.js';
import type {
  SharePointWorkspacesOptions,
  StrandedWorkspace,
  Workspace,
  WorkspaceAttachOptions,
  WorkspaceLease,
  WorkspaceStatus,
} from './types.js';

/** One workspace in this process, from the start of its attach to the end of its close. */
interface Entry extends Claim {
  state: 'attaching' | 'attached' | 'closing';
  ready: Promise<Workspace>;
  workspace?: Workspace;
  ownsDataSource: boolean;
  writeback: boolean;
  lastUsed: number;
  /** Leases held now (`acquire`, `use`): never evicted while > 0. */
  leases: number;
  closed?: Promise<void>;
}

/**
 * Many workspaces in one process: each with its own SharePoint site and its own PostgreSQL schema,
 * attached on first use (`get`), closed cleanly when least recently used or idle, and drained by one
 * shared, fair write-back pool. Nothing is shared between workspaces except the pool and, for workspaces
 * of one tenant, the resource-unit budget. See docs/workspaces.md.
 * The lifecycle (attach, lease, evict, drain, detach) is here; its parts have their own modules: the public
 * types (`types.ts`), errors, option checks and each workspace's sync options (`options.ts`), schema and site
 * claims, tenant budgets, waiting for room, and stranded workspaces. The file stays a little over 400 lines:
 * what is left is the one state machine of the entries (attaching → attached → closing) and the public methods
 * that drive it; splitting it further would hand the entry map to several modules.
 */
export class SharePointWorkspaces {
  private readonly entries = new Map<string, Entry>();
  private readonly budgets: TenantBudgets;
  private readonly pool: WorkerPool;
  private readonly logger: Logger;
  private readonly maxAttached: number;
  private workerWanted: boolean;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private closing: Promise<void> | undefined;
  private readonly room = new Room();
  private readonly strandedWatch: StrandedWatch;
  private readonly credentialWarning: DefaultCredentialWarning;

  constructor(private readonly options: SharePointWorkspacesOptions) {
    const { maxAttached, recordsPerTurn } = checkWorkspacesOptions(options);
    this.maxAttached = maxAttached;
    this.logger = options.logger ?? options.defaults?.logger ?? silentLogger;
    const concurrency = Math.max(1, options.worker?.concurrency ?? 4);
    this.pool = new WorkerPool({
      concurrency,
      recordsPerTurn,
      pollIntervalMs: options.worker?.pollIntervalMs ?? 1000,
      perTenantConcurrency: options.worker?.perTenantConcurrency ?? Math.max(1, Math.ceil(concurrency / 2)),
      logger: this.logger,
    });
    this.workerWanted = options.worker?.enabled !== false;
    this.budgets = new TenantBudgets(options);
    this.credentialWarning = new DefaultCredentialWarning(!!options.allowDefaultCredential);
    this.strandedWatch = new StrandedWatch(this.logger, options.defaults?.metrics?.meter);
    if (options.idleTimeoutMs !== undefined) {
      const every = Math.max(20, Math.min(options.idleTimeoutMs / 2, 30_000));
      this.sweeper = setInterval(() => this.closeIdle(), every);
      this.sweeper.unref?.();
    }
  }

  /** The workspace's `SharePointSync`, attaching it first if needed (concurrent callers share one attach). */
  async get(workspaceId: string, options?: { overrides?: WorkspaceAttachOptions }): Promise<SharePointSync> {
    return (await this.workspace(workspaceId, options)).sync;
  }

  /**
   * The attached workspace (sync, DataSource, validated settings, schema, tenant), attaching it if needed.
   * Not held: the pool may close it once `maxAttached` others are wanted; to keep using it across awaits,
   * `acquire` or `use` it. `overrides` are attach options over the definition's, used only when this call
   * attaches (the CLI turns bootstrap and polling off with them).
   */
  async workspace(
    workspaceId: string,
    options: { overrides?: WorkspaceAttachOptions } = {},
  ): Promise<Workspace> {
    const entry = await this.enter(workspaceId, options.overrides);
    return entry.ready;
  }

  /**
   * The workspace, held until `release()`: the pool never closes it meanwhile (eviction picks only workspaces
   * nobody holds; a new attach waits while all are held). Always release it (`try`/`finally`), or use `use`.
   */
  async acquire(workspaceId: string): Promise<WorkspaceLease> {
    const entry = await this.enter(workspaceId, undefined, true);
    let workspace: Workspace;
    try {
      workspace = await entry.ready;
    } catch (error) {
      this.unlease(entry);
      throw error;
    }
    let released = false;
    return {
      ...workspace,
      release: () => {
        if (released) return;
        released = true;
        this.unlease(entry);
      },
    };
  }

  /** Runs `work` with the workspace held (see `acquire`), releasing it however `work` ends. */
  async use<T>(workspaceId: string, work: (workspace: Workspace) => T | Promise<T>): Promise<T> {
    const lease = await this.acquire(workspaceId);
    try {
      return await work(lease);
    } finally {
      lease.release();
    }
  }

  /** Ids of the workspaces attached now (attaching and closing ones included), least recently used first. */
  attached(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * `status()` of every attached workspace (each carries its `workspace` id), then one entry per stranded
   * workspace (`stranded` set): removed from the resolver while changes were still in its outbox.
   */
  async status(): Promise<WorkspaceStatus[]> {
    const ready = [...this.entries.values()].filter((e) => e.state === 'attached' && e.workspace);
    const live = (await Promise.all(ready.map((e) => e.workspace!.sync.status()))) as WorkspaceStatus[];
    return [...live, ...this.strandedWatch.statuses()];
  }

  /** Workspaces removed from the resolver while their outbox still held changes (see docs/workspaces.md). */
  stranded(): StrandedWorkspace[] {
    return this.strandedWatch.list();
  }

  /**
   * Closes one workspace cleanly: stops giving it turns, flushes its outbox (up to `flushTimeoutMs`; what is
   * left stays in its outbox for the next attach), stops it and destroys the DataSource if a factory made it.
   * The next `get` attaches it again. `drain: true` first sends every pending change and refuses to detach
   * (`WorkspaceNotDrainedError`, the workspace stays attached) while any is left: the way to remove a workspace.
   */
  async detach(workspaceId: string, options: { flush?: boolean; drain?: boolean } = {}): Promise<void> {
    const entry = this.entries.get(workspaceId);
    if (!entry) return;
    if (entry.state === 'closing') return entry.closed;
    if (options.drain) {
      const workspace = await entry.ready;
      try {
        await workspace.sync.flush({ timeoutMs: this.options.flushTimeoutMs ?? 60_000 });
      } catch (error) {
        const { total } = await workspace.sync.pending();
        throw new WorkspaceNotDrainedError(workspaceId, total, error);
      }
      if (this.entries.get(workspaceId) !== entry) return;
      if ((entry.state as Entry['state']) === 'closing') return entry.closed;
    }
    entry.state = 'closing';
    entry.closed = (async () => {
      try {
        const workspace = await entry.ready.catch(() => undefined);
        if (workspace) await this.shutDown(entry, workspace, options.flush !== false);
      } finally {
        if (this.entries.get(workspaceId) === entry) this.entries.delete(workspaceId);
        this.room.wake();
      }
    })();
    return entry.closed;
  }

  /** Starts the shared write-back pool (it starts by itself on the first attach unless `worker.enabled` is false). */
  startWorker(): void {
    this.workerWanted = true;
    if (this.entries.size > 0) this.pool.start();
  }

  /** Stops the shared write-back pool after its turns in flight; changes keep queueing in each outbox. */
  async stopWorker(): Promise<void> {
    this.workerWanted = false;
    await this.pool.stop();
  }

  /** Reports each pool turn that claimed records (workspace, claimed, sent). Returns an unsubscribe function. */
  onTurn(listener: (turn: PoolTurn) => void): () => void {
    return this.pool.onTurn(listener);
  }

  /**
   * Closes every workspace (each flushed first, unless `flush: false`: a CLI or a shutdown in a hurry — the
   * outboxes keep what is unsent) and stops the pool.
   */
  async close(options: { flush?: boolean } = {}): Promise<void> {
    this.closing ??= (async () => {
      if (this.sweeper) clearInterval(this.sweeper);
      this.sweeper = undefined;
      this.room.wake();
      await Promise.allSettled([...this.entries.keys()].map((id) => this.detach(id, options)));
      await this.pool.stop();
    })();
    return this.closing;
  }

  /**
   * The entry of `workspaceId`, created (and its attach started) if needed, once there is room for it under
   * `maxAttached`. With `lease`, the lease is counted before anything can await, so no eviction slips in.
   */
  private async enter(
    workspaceId: string,
    overrides: WorkspaceAttachOptions | undefined,
    lease = false,
  ): Promise<Entry> {
    if (typeof workspaceId !== 'string' || workspaceId === '') {
      throw new UsageError(
        'typeorm-sharepoint: SharePointWorkspaces: a workspace id (non-empty string) is required.',
      );
    }
    const deadline = Date.now() + (this.options.attachWaitTimeoutMs ?? 60_000);
    for (;;) {
      if (this.closing) throw new ClosedError('SharePointWorkspaces', `get("${workspaceId}")`);
      const existing = this.entries.get(workspaceId);
      if (existing) {
        if (existing.state === 'closing') {
          await existing.closed;
          continue;
        }
        this.touch(existing);
        if (lease) existing.leases++;
        return existing;
      }
      // Every entry (attaching, attached, closing) holds or will hold a DataSource: all count.
      if (this.entries.size < this.maxAttached) break;
      if (Date.now() > deadline) {
        throw new WorkspaceCapacityError(
          workspaceId,
          this.maxAttached,
          [...this.entries.values()].filter((e) => e.leases > 0).map((e) => e.id),
        );
      }
      this.room.admitting++;
      try {
        this.evictForRoom();
        await this.room.wait(deadline - Date.now());
      } finally {
        this.room.admitting--;
      }
    }
    const entry: Entry = {
      id: workspaceId,
      state: 'attaching',
      ready: undefined as unknown as Promise<Workspace>,
      ownsDataSource: false,
      writeback: true,
      lastUsed: Date.now(),
      leases: lease ? 1 : 0,
    };
    entry.ready = this.attach(entry, overrides).then(
      (workspace) => {
        entry.workspace = workspace;
        entry.state = 'attached';
        this.room.wake();
        return workspace;
      },
      (error) => {
        if (this.entries.get(workspaceId) === entry) this.entries.delete(workspaceId);
        this.room.wake();
        throw error;
      },
    );
    this.entries.set(workspaceId, entry);
    return entry;
  }

  private unlease(entry: Entry): void {
    entry.leases = Math.max(0, entry.leases - 1);
    if (entry.leases === 0) this.room.wake();
  }

  /** Starts closing least recently used workspaces nobody holds, as many as callers wait for room. */
  private evictForRoom(): void {
    const closing = [...this.entries.values()].filter((e) => e.state === 'closing').length;
    let needed = this.room.admitting - closing;
    for (const victim of [...this.entries.values()]) {
      if (needed <= 0) break;
      if (victim.state !== 'attached' || victim.leases > 0) continue;
      this.logger.info('typeorm-sharepoint: closing the least recently used workspace', {
        workspace: victim.id,
        maxAttached: this.maxAttached,
      });
      void this.detach(victim.id).catch((error) =>
        this.logger.error('typeorm-sharepoint: closing a workspace failed', {
          workspace: victim.id,
          error: String(error),
        }),
      );
      needed--;
    }
  }

  private touch(entry: Entry): void {
    entry.lastUsed = Date.now();
    // Map order is the LRU order: most recently used last.
    this.entries.delete(entry.id);
    this.entries.set(entry.id, entry);
  }

  private closeIdle(): void {
    const idle = this.options.idleTimeoutMs;
    if (idle === undefined) return;
    const horizon = Date.now() - idle;
    for (const entry of [...this.entries.values()]) {
      if (entry.state === 'attached' && entry.leases === 0 && entry.lastUsed <= horizon) {
        this.logger.info('typeorm-sharepoint: closing an idle workspace', {
          workspace: entry.id,
          idleTimeoutMs: idle,
        });
        void this.detach(entry.id).catch(() => undefined);
      }
    }
  }

  private async attach(entry: Entry, overrides: WorkspaceAttachOptions | undefined): Promise<Workspace> {
    const id = entry.id;
    const definition = await this.options.resolve(id);
    if (!definition) {
      this.strandedWatch.unknown(id);
      throw new UnknownWorkspaceError(id);
    }
    const settings = parseWorkspaceSettings(id, definition.settings);
    if (!settings.enabled) throw new WorkspaceDisabledError(id);

    const schema = claimSchemaAndSite(
      entry,
      this.entries.values(),
      definition,
      settings,
      !!this.options.allowSharedSites,
    );
    const given = typeof definition.dataSource === 'function' ? undefined : definition.dataSource;
    const tenant = (definition.tenant ?? settings.site.hostname).toLowerCase();
    const options = workspaceSyncOptions(this.options, this.logger, {
      id,
      definition,
      settings,
      schema,
      overrides,
      limiter: () => this.budgets.limiterFor(tenant),
      onDefaultCredential: (logger) => this.credentialWarning.once(id, tenant, logger),
    });
    const logger = options.logger ?? this.logger;
    entry.writeback = options.writeback?.enabled !== false;

    let dataSource: DataSource;
    if (typeof definition.dataSource === 'function') {
      dataSource = await definition.dataSource(schema, id);
      entry.ownsDataSource = true;
    } else {
      dataSource = definition.dataSource;
    }
    try {
      if (!dataSource.isInitialized) await dataSource.initialize();
      if (!definition.schema && !given) await warnOfLegacySchema(dataSource, id, schema, logger);
      const {
        sync,
        parts: { writeback },
      } = await attachSync(dataSource, options);
      const workspace: Workspace = { id, sync, dataSource, settings, schema, tenant };
      this.strandedWatch.forget(id);
      if (entry.writeback) {
        this.pool.add(id, tenant, writeback, this.budgets.limiterFor(tenant));
        if (this.workerWanted) this.pool.start();
      }
      return workspace;
    } catch (error) {
      if (entry.ownsDataSource && dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
      if (error instanceof WorkspaceSettingsError) throw error;
      throw new WorkspaceAttachError(id, error);
    }
  }

  private async shutDown(entry: Entry, workspace: Workspace, flush: boolean): Promise<void> {
    await this.pool.remove(workspace.id);
    if (flush && entry.writeback) {
      try {
        await workspace.sync.flush({ timeoutMs: this.options.flushTimeoutMs ?? 60_000 });
      } catch (error) {
        this.logger.warn(
          'typeorm-sharepoint: closing a workspace with changes not yet sent (sent on its next attach)',
          {
            workspace: workspace.id,
            error: String(error),
          },
        );
      }
    }
    try {
      const { total } = await workspace.sync.pending();
      if (total > 0) {
        const parked = { schema: workspace.schema, site: entry.site ?? '', pending: total };
        await this.strandedWatch.leftBehind(workspace.id, parked, async () => {
          const still = await Promise.resolve(this.options.resolve(workspace.id)).catch(() => null);
          return still !== undefined;
        });
      }
    } catch (error) {
      this.logger.warn('typeorm-sharepoint: could not count what a closing workspace left unsent', {
        workspace: workspace.id,
        error: String(error),
      });
    }
    await workspace.sync.close();
    if (entry.ownsDataSource && workspace.dataSource.isInitialized) await workspace.dataSource.destroy();
  }
}
