import { type Meter, metrics } from '@opentelemetry/api';
import type { DataSource } from 'typeorm';
import { type Logger, silentLogger } from '../context.js';
import { ClosedError, ConfigError, SharePointSyncError, UsageError } from '../errors/index.js';
import type { BudgetOptions, GraphCredential } from '../graph/index.js';
import { emptyTotals } from '../metrics/index.js';
import { assertSchemaName } from '../store/db.js';
import {
  attachSync,
  type SharePointSync,
  type SharePointSyncOptions,
  type SyncStatus,
} from '../sync/index.js';
import { type PoolTurn, TenantLimiter, WorkerPool } from './pool.js';
import { defaultWorkspaceSchema, legacyWorkspaceSchema } from './schema-name.js';
import {
  parseWorkspaceSettings,
  type WorkspaceSettings,
  WorkspaceSettingsError,
  type WorkspaceSettingsInput,
} from './settings.js';

/** Attach options a definition (or the defaults) may set; site, schema and priorities come from the settings. */
export type WorkspaceAttachOptions = Partial<
  Omit<SharePointSyncOptions, 'site' | 'schema' | 'workspace' | 'entities' | 'defaultPriority'>
>;

/** Makes a workspace's DataSource for its PostgreSQL schema (its entity tables and the library's tables). */
export type WorkspaceDataSourceFactory = (
  schema: string,
  workspaceId: string,
) => DataSource | Promise<DataSource>;

/** What the resolver returns for a workspace id. */
export interface WorkspaceDefinition {
  /** Validated (zod): enabled, site, syncMode, objects, batchWindowSeconds, schedule, conflictResolution, webhooks. */
  settings: WorkspaceSettingsInput;
  /**
   * The workspace's DataSource, or a factory given the workspace's schema. A DataSource made by a factory is
   * owned by `SharePointWorkspaces` (destroyed when the workspace is closed); one passed in stays the application's.
   */
  dataSource: DataSource | WorkspaceDataSourceFactory;
  /**
   * PostgreSQL schema of the workspace: the library's tables (outbox, sync state, cache state, …) live there,
   * next to the entity tables, so dropping it drops the workspace's cache and state together. Default: the
   * DataSource's `schema` option when a DataSource is given, else `workspace_<id>`.
   */
  schema?: string;
  /**
   * Whose resource-unit budget this workspace spends. Workspaces of one tenant share one budget (and its
   * `Retry-After` pauses); different tenants never slow each other. Default: the site's host name.
   */
  tenant?: string;
  credential?: GraphCredential;
  /** Attach options for this workspace, over the constructor's `defaults`. */
  options?: WorkspaceAttachOptions;
}

export interface SharePointWorkspacesOptions {
  /** Looks a workspace up (database row, config file…); `undefined` means there is no such workspace. */
  resolve(workspaceId: string): Promise<WorkspaceDefinition | undefined> | WorkspaceDefinition | undefined;
  /** Workspaces kept attached at once; the least recently used is closed (after a flush) beyond it. Default 20. */
  maxAttached?: number;
  /**
   * How long `get`/`workspace`/`acquire` wait for room when `maxAttached` workspaces are attached and every
   * one is held (`acquire`/`use`) or busy attaching or closing; then a `WorkspaceCapacityError`. Default 60 000.
   */
  attachWaitTimeoutMs?: number;
  /**
   * Two workspaces whose settings name the same site load each other's records and write into one list:
   * the second attach is refused (`WorkspaceConflictError`) unless this is true. Default false.
   */
  allowSharedSites?: boolean;
  /**
   * A workspace whose definition has no `credential` uses `defaults.credential`. Its token then goes to that
   * workspace's site: right only when the credential is valid for every tenant (one multi-tenant app
   * registration). Unless this is true, the first such attach of each tenant logs a warning. Default false.
   */
  allowDefaultCredential?: boolean;
  /** A workspace not asked for (`get`) for this long is closed (after a flush). Default: never. */
  idleTimeoutMs?: number;
  /** How long closing a workspace waits for its outbox to empty; what is left is sent on its next attach. Default 60 000. */
  flushTimeoutMs?: number;
  /** Attach options for every workspace (Graph base URL, credential, cache, bootstrap, write-back, logger, metrics). */
  defaults?: WorkspaceAttachOptions & { credential?: GraphCredential };
  /** Budget of each tenant (one per tenant, shared by its workspaces). Default: `defaults.graph.budget`, else 1200 RU per minute. */
  tenantBudget?: BudgetOptions;
  /** The shared write-back pool. */
  worker?: {
    /** false: no pool (a CLI, or an instance that only reads). Default true. */
    enabled?: boolean;
    /** Turns in flight at once across all workspaces. Default 4. */
    concurrency?: number;
    /** Records per turn (one `$batch`, ≤ 20). Default 20. */
    recordsPerTurn?: number;
    /** How long a workspace with nothing due is left alone; P0 commits wake the pool at once. Default 1000. */
    pollIntervalMs?: number;
    /** Turns one tenant may hold at once when several tenants are attached. Default half the concurrency. */
    perTenantConcurrency?: number;
  };
  logger?: Logger;
}

/** One attached workspace. */
export interface Workspace {
  id: string;
  sync: SharePointSync;
  dataSource: DataSource;
  settings: WorkspaceSettings;
  schema: string;
  tenant: string;
}

export class UnknownWorkspaceError extends SharePointSyncError {
  override name = 'UnknownWorkspaceError';
  readonly code = 'WORKSPACE_UNKNOWN';
  constructor(readonly workspace: string) {
    super(`typeorm-sharepoint: no workspace "${workspace}" (the resolver returned nothing for it).`);
  }
}

export class WorkspaceDisabledError extends SharePointSyncError {
  override name = 'WorkspaceDisabledError';
  readonly code = 'WORKSPACE_DISABLED';
  constructor(readonly workspace: string) {
    super(`typeorm-sharepoint: workspace "${workspace}" is disabled (settings.enabled is false).`);
  }
}

/** Attaching failed; `cause` is the original error (SiteNotFoundError, SchemaError, …). */
export class WorkspaceAttachError extends SharePointSyncError {
  override name = 'WorkspaceAttachError';
  readonly code = 'WORKSPACE_ATTACH_FAILED';
  constructor(
    readonly workspace: string,
    override readonly cause: unknown,
  ) {
    super(
      `typeorm-sharepoint: workspace "${workspace}" could not be attached: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
  }
}

/** Two workspaces would share a site or a schema: refused, naming both. */
export class WorkspaceConflictError extends SharePointSyncError {
  override name = 'WorkspaceConflictError';
  readonly code = 'WORKSPACE_CONFLICT';
  constructor(
    readonly workspace: string,
    readonly other: string,
    /** What they would share: `site` or `schema`. */
    readonly shared: 'site' | 'schema',
    /** The site (`host:/path`) or schema name. */
    readonly target: string,
  ) {
    super(
      shared === 'site'
        ? `typeorm-sharepoint: workspace "${workspace}" names site ${target}, which workspace "${other}" already uses: ` +
            "two workspaces on one site load each other's records and write into the same lists. Give each workspace " +
            'its own site, or set allowSharedSites: true if they really are meant to share it.'
        : `typeorm-sharepoint: workspace "${workspace}" would use schema "${target}", which workspace "${other}" already uses: ` +
            'they would share one cache and one outbox. Give each workspace its own schema.',
    );
  }
}

/** `maxAttached` workspaces are attached and all held or busy for `attachWaitTimeoutMs`. */
export class WorkspaceCapacityError extends SharePointSyncError {
  override name = 'WorkspaceCapacityError';
  readonly code = 'WORKSPACE_CAPACITY';
  constructor(
    readonly workspace: string,
    readonly maxAttached: number,
    held: string[],
  ) {
    super(
      `typeorm-sharepoint: workspace "${workspace}" could not be attached: all ${maxAttached} attached workspaces ` +
        `(maxAttached) stayed in use (held: ${held.join(', ') || 'none'}; the others attaching or closing). ` +
        'Release leases sooner (use() or lease.release()), or raise maxAttached.',
    );
  }
}

/** `detach(id, { drain: true })` could not empty the outbox; the workspace stays attached. */
export class WorkspaceNotDrainedError extends SharePointSyncError {
  override name = 'WorkspaceNotDrainedError';
  readonly code = 'WORKSPACE_NOT_DRAINED';
  constructor(
    readonly workspace: string,
    readonly pending: number,
    override readonly cause: unknown,
  ) {
    super(
      `typeorm-sharepoint: workspace "${workspace}" still has ${pending} change(s) not sent to SharePoint, so it stays ` +
        `attached: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
  }
}

/** A workspace held for a while: eviction never closes it until `release()`. */
export interface WorkspaceLease extends Workspace {
  /** Gives the workspace back (idempotent); from then on the pool may close it when room is needed. */
  release(): void;
}

/** Changes left in the schema of a workspace that the resolver no longer knows: nobody will send them. */
export interface StrandedWorkspace {
  workspace: string;
  schema: string;
  site: string;
  pending: number;
  detectedAt: string;
  reason: string;
}

/** An attached workspace's `status()`, or a stranded workspace (`stranded` set, figures from its last count). */
export interface WorkspaceStatus extends SyncStatus {
  workspace: string;
  stranded?: StrandedWorkspace;
}

interface Entry {
  id: string;
  state: 'attaching' | 'attached' | 'closing';
  ready: Promise<Workspace>;
  workspace?: Workspace;
  ownsDataSource: boolean;
  writeback: boolean;
  lastUsed: number;
  /** Leases held now (`acquire`, `use`): never evicted while > 0. */
  leases: number;
  /** Normalised `host:/path`, once resolved. */
  siteKey?: string;
  site?: string;
  schema?: string;
  closed?: Promise<void>;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** SharePoint host names and server-relative paths are case-insensitive. */
function siteKeyOf(site: { hostname: string; path: string }): string {
  return `${site.hostname.toLowerCase()}:${site.path.toLowerCase().replace(/\/+$/, '')}`;
}

function childLogger(logger: Logger, workspace: string): Logger {
  const add = (fields?: Record<string, unknown>) => ({ workspace, ...fields });
  return {
    debug: (m, f) => logger.debug(m, add(f)),
    info: (m, f) => logger.info(m, add(f)),
    warn: (m, f) => logger.warn(m, add(f)),
    error: (m, f) => logger.error(m, add(f)),
  };
}

/**
 * Many workspaces in one process: each with its own SharePoint site and its own PostgreSQL schema,
 * attached on first use (`get`), closed cleanly when least recently used or idle, and drained by one
 * shared, fair write-back pool. Nothing is shared between workspaces except the pool and, for workspaces
 * of one tenant, the resource-unit budget. See docs/workspaces.md.
 * The file is over 400 lines: ~250 are the public types and their documentation; the class is one lifecycle
 * (attach, lease, evict, drain, detach) whose steps share its maps. Moving the types out is a follow-up.
 */
export class SharePointWorkspaces {
  private readonly entries = new Map<string, Entry>();
  private readonly limiters = new Map<string, TenantLimiter>();
  private readonly pool: WorkerPool;
  private readonly logger: Logger;
  private readonly maxAttached: number;
  private workerWanted: boolean;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private closing: Promise<void> | undefined;
  /** Woken whenever room may have appeared (an entry gone, a lease released, an attach settled). */
  private readonly roomWaiters = new Set<() => void>();
  /** Ids waiting for room right now (so eviction closes no more than they need). */
  private admitting = 0;
  /** Workspaces closed with changes still in their outbox: id → schema, site, count. */
  private readonly parked = new Map<string, { schema: string; site: string; pending: number }>();
  private readonly strandedById = new Map<string, StrandedWorkspace>();
  private readonly credentialWarned = new Set<string>();
  private readonly strandedCounter: ReturnType<Meter['createCounter']>;
  private readonly strandedGauge: ReturnType<Meter['createObservableGauge']>;

  constructor(private readonly options: SharePointWorkspacesOptions) {
    if (typeof options?.resolve !== 'function') {
      throw new ConfigError('SharePointWorkspaces options.resolve', 'a function workspaceId → definition');
    }
    const maxAttached = options.maxAttached ?? 20;
    if (!Number.isInteger(maxAttached) || maxAttached < 1) {
      throw new ConfigError(
        'SharePointWorkspaces options.maxAttached',
        'a whole number ≥ 1',
        String(maxAttached),
      );
    }
    if (options.idleTimeoutMs !== undefined && !(options.idleTimeoutMs > 0)) {
      throw new ConfigError(
        'SharePointWorkspaces options.idleTimeoutMs',
        'a number of milliseconds > 0',
        String(options.idleTimeoutMs),
      );
    }
    if (options.attachWaitTimeoutMs !== undefined && !(options.attachWaitTimeoutMs > 0)) {
      throw new ConfigError(
        'SharePointWorkspaces options.attachWaitTimeoutMs',
        'a number of milliseconds > 0',
        String(options.attachWaitTimeoutMs),
      );
    }
    const recordsPerTurn = options.worker?.recordsPerTurn ?? 20;
    if (!Number.isInteger(recordsPerTurn) || recordsPerTurn < 1 || recordsPerTurn > 20) {
      throw new ConfigError(
        'SharePointWorkspaces options.worker.recordsPerTurn',
        'a whole number from 1 to 20',
        String(recordsPerTurn),
      );
    }
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
    const meter = options.defaults?.metrics?.meter ?? metrics.getMeter('typeorm-sharepoint');
    this.strandedCounter = meter.createCounter('sharepoint_sync_workspaces_stranded', {
      description:
        'Workspaces found removed from the resolver with changes still in their outbox (nobody sends them)',
    });
    this.strandedGauge = meter.createObservableGauge('sharepoint_sync_workspace_stranded_pending', {
      description: 'Changes left in the outbox of a workspace the resolver no longer knows',
    });
    this.strandedGauge.addCallback((result) => {
      for (const s of this.strandedById.values()) result.observe(s.pending, { workspace: s.workspace });
    });
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
    const stranded = [...this.strandedById.values()].map(
      (s): WorkspaceStatus => ({
        workspace: s.workspace,
        stranded: s,
        pending: s.pending,
        pendingByPriority: { P0: 0, P1: 0, P2: 0, P3: 0 },
        lagSeconds: 0,
        deadLetters: 0,
        openConflicts: 0,
        lists: [],
        totals: emptyTotals(),
        writeback: { enabled: false },
      }),
    );
    return [...live, ...stranded];
  }

  /** Workspaces removed from the resolver while their outbox still held changes (see docs/workspaces.md). */
  stranded(): StrandedWorkspace[] {
    return [...this.strandedById.values()];
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
        this.wakeRoom();
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
      this.wakeRoom();
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
      this.admitting++;
      try {
        this.evictForRoom();
        await this.waitForRoom(deadline - Date.now());
      } finally {
        this.admitting--;
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
        this.wakeRoom();
        return workspace;
      },
      (error) => {
        if (this.entries.get(workspaceId) === entry) this.entries.delete(workspaceId);
        this.wakeRoom();
        throw error;
      },
    );
    this.entries.set(workspaceId, entry);
    return entry;
  }

  private unlease(entry: Entry): void {
    entry.leases = Math.max(0, entry.leases - 1);
    if (entry.leases === 0) this.wakeRoom();
  }

  /** Starts closing least recently used workspaces nobody holds, as many as callers wait for room. */
  private evictForRoom(): void {
    const closing = [...this.entries.values()].filter((e) => e.state === 'closing').length;
    let needed = this.admitting - closing;
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

  private waitForRoom(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.roomWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(1, ms));
      this.roomWaiters.add(wake);
    });
  }

  private wakeRoom(): void {
    for (const wake of [...this.roomWaiters]) wake();
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

  /** One budget per tenant; host names are case-insensitive, so tenant keys are compared lower-cased. */
  private limiterFor(tenant: string): TenantLimiter {
    const key = tenant.toLowerCase();
    let limiter = this.limiters.get(key);
    if (!limiter) {
      const budget = { ...this.options.defaults?.graph?.budget, ...this.options.tenantBudget };
      limiter = new TenantLimiter({
        resourceUnitsPerWindow: budget.resourceUnitsPerMinute ?? 1200,
        windowMs: budget.windowMs ?? 60_000,
        slowDownBelowRatio: budget.slowDownBelowRatio ?? 0.2,
        ...(budget.resourceUnitsPerDay !== undefined
          ? { resourceUnitsPerDay: budget.resourceUnitsPerDay }
          : {}),
        ...(budget.burst !== undefined ? { burst: budget.burst } : {}),
        ...(budget.leaseMs !== undefined ? { leaseMs: budget.leaseMs } : {}),
        // The tenant is the shared ledger's key (issue 19): every process's workspaces of it spend one budget.
        key: typeof budget.shared === 'object' && budget.shared.key ? budget.shared.key : key,
      });
      this.limiters.set(key, limiter);
    }
    return limiter;
  }

  /** Stranded: the resolver dropped a workspace whose outbox still holds changes. Loud: log, status, metric. */
  private markStranded(id: string, parked: { schema: string; site: string; pending: number }): void {
    const stranded: StrandedWorkspace = {
      workspace: id,
      ...parked,
      detectedAt: new Date().toISOString(),
      reason: 'removed from the resolver with changes still in its outbox',
    };
    if (!this.strandedById.has(id)) this.strandedCounter.add(1, { workspace: id });
    this.strandedById.set(id, stranded);
    this.logger.error(
      `typeorm-sharepoint: workspace "${id}" was removed from the resolver with ${parked.pending} change(s) ` +
        `not sent to ${parked.site}; they stay in schema "${parked.schema}" and nothing will send them. Return it ` +
        'to the resolver and drain it (detach(id, { drain: true })) before removing it; see docs/workspaces.md.',
      { workspace: id, schema: parked.schema, site: parked.site, pending: parked.pending },
    );
  }

  private async attach(entry: Entry, overrides: WorkspaceAttachOptions | undefined): Promise<Workspace> {
    const id = entry.id;
    const definition = await this.options.resolve(id);
    if (!definition) {
      const parked = this.parked.get(id);
      if (parked) this.markStranded(id, parked);
      throw new UnknownWorkspaceError(id);
    }
    const settings = parseWorkspaceSettings(id, definition.settings);
    if (!settings.enabled) throw new WorkspaceDisabledError(id);

    const schema = this.claim(entry, definition, settings);
    const given = typeof definition.dataSource === 'function' ? undefined : definition.dataSource;
    const tenant = (definition.tenant ?? settings.site.hostname).toLowerCase();
    const options = this.syncOptionsFor(id, definition, settings, schema, tenant, overrides);
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
      if (!definition.schema && !given) await this.warnOfLegacySchema(dataSource, id, schema, logger);
      const {
        sync,
        parts: { writeback },
      } = await attachSync(dataSource, options);
      const workspace: Workspace = { id, sync, dataSource, settings, schema, tenant };
      this.parked.delete(id);
      this.strandedById.delete(id);
      if (entry.writeback) {
        this.pool.add(id, tenant, writeback, this.limiterFor(tenant));
        if (this.workerWanted) this.pool.start();
      }
      return workspace;
    } catch (error) {
      if (entry.ownsDataSource && dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
      if (error instanceof WorkspaceSettingsError) throw error;
      throw new WorkspaceAttachError(id, error);
    }
  }

  /**
   * The workspace's schema (the definition's, its DataSource's, or the default), checked, and claimed with its
   * site in one synchronous step: of two concurrent attaches, the second sees the first.
   */
  private claim(entry: Entry, definition: WorkspaceDefinition, settings: WorkspaceSettings): string {
    const id = entry.id;
    const given = typeof definition.dataSource === 'function' ? undefined : definition.dataSource;
    const schema =
      definition.schema ??
      (given?.options.type === 'postgres' ? given.options.schema : undefined) ??
      defaultWorkspaceSchema(id);
    if (!SCHEMA_NAME.test(schema)) {
      throw new WorkspaceSettingsError(
        id,
        'schema',
        'must be a lower-case PostgreSQL identifier',
        JSON.stringify(schema),
      );
    }
    assertSchemaName(schema);
    const siteKey = siteKeyOf(settings.site);
    const site = `${settings.site.hostname}:${settings.site.path}`;
    for (const other of this.entries.values()) {
      if (other === entry) continue;
      if (other.schema === schema) throw new WorkspaceConflictError(id, other.id, 'schema', schema);
      if (other.siteKey === siteKey && !this.options.allowSharedSites) {
        throw new WorkspaceConflictError(id, other.id, 'site', site);
      }
    }
    entry.schema = schema;
    entry.siteKey = siteKey;
    entry.site = site;
    return schema;
  }

  /**
   * The sync options of one workspace: defaults, then the definition, then the attach overrides, then settings.
   * Over 80 lines: mostly one object literal, the merge order of every option group.
   */
  private syncOptionsFor(
    id: string,
    definition: WorkspaceDefinition,
    settings: WorkspaceSettings,
    schema: string,
    tenant: string,
    overrides: WorkspaceAttachOptions | undefined,
  ): SharePointSyncOptions {
    const defaults = this.options.defaults ?? {};
    const own = { ...definition.options, ...overrides };
    // `webhooks` (inbound) options: taken from the defaults and the definition, used only when the setting is on.
    const webhooks: NonNullable<SharePointSyncOptions['webhooks']> = {
      ...defaults.webhooks,
      ...own.webhooks,
      // One handler per workspace: its own path unless the definition names one.
      path:
        own.webhooks?.path ??
        `${(defaults.webhooks?.path ?? '/sharepoint/webhook').replace(/\/+$/, '')}/${encodeURIComponent(id)}`,
    };
    if (settings.webhooks && !webhooks.baseUrl) {
      throw new WorkspaceSettingsError(
        id,
        'settings.webhooks',
        "is true but no webhooks.baseUrl is configured (defaults.webhooks or the definition's options.webhooks)",
      );
    }
    const credential = definition.credential ?? defaults.credential;
    const logger = childLogger(own.logger ?? defaults.logger ?? this.logger, id);
    if (
      !definition.credential &&
      defaults.credential &&
      !this.options.allowDefaultCredential &&
      !this.credentialWarned.has(tenant)
    ) {
      this.credentialWarned.add(tenant);
      logger.warn(
        `typeorm-sharepoint: workspace "${id}" (tenant ${tenant}) has no credential of its own and uses ` +
          "defaults.credential: its tokens go to this tenant's site. Give the definition a credential, or set " +
          'allowDefaultCredential: true if that credential is valid for every tenant.',
        { tenant },
      );
    }
    const options: SharePointSyncOptions = {
      ...defaults,
      ...own,
      site: settings.site,
      schema,
      workspace: id,
      defaultPriority: settings.defaultPriority,
      ...(settings.objects ? { entities: settings.objects } : {}),
      ...(settings.conflictResolution ? { conflictResolution: settings.conflictResolution } : {}),
      ...(settings.lists ? { lists: { ...own.lists, ...settings.lists } } : {}),
      ...(credential ? { credential } : {}),
      logger,
      graph: {
        ...defaults.graph,
        ...own.graph,
        limiter: this.limiterFor(tenant),
        // Whether (and where) the tenant's budget is shared across processes: the tenant's setting (issue 19).
        budget: {
          shared: { ...this.options.defaults?.graph?.budget, ...this.options.tenantBudget }.shared ?? true,
        },
      },
      bootstrap: { ...defaults.bootstrap, ...definition.options?.bootstrap, ...overrides?.bootstrap },
      cache: { ...defaults.cache, ...definition.options?.cache, ...overrides?.cache },
      inbound: { ...defaults.inbound, ...definition.options?.inbound, ...overrides?.inbound },
      writeback: {
        ...defaults.writeback,
        ...definition.options?.writeback,
        ...overrides?.writeback,
        batchWindowSeconds: settings.batchWindowSeconds,
        ...(settings.schedule ? { dailyHourUtc: settings.schedule.hourUtc } : {}),
        // The shared pool drives every workspace's outbox.
        runWorker: false,
      },
      metrics: { ...defaults.metrics, ...own.metrics },
    };
    if (settings.webhooks) options.webhooks = webhooks;
    else delete options.webhooks;
    return options;
  }

  /**
   * The schema rule changed for ids that were not plain identifiers: their old cache sits in the old schema.
   * Say so (once per attach, before anything is created) instead of silently starting a second cache.
   */
  private async warnOfLegacySchema(
    dataSource: DataSource,
    id: string,
    schema: string,
    logger: Logger,
  ): Promise<void> {
    const legacy = legacyWorkspaceSchema(id);
    if (legacy === schema) return;
    const [found] = (await dataSource.query(
      `SELECT to_regclass($1) IS NOT NULL AS legacy, to_regclass($2) IS NOT NULL AS current`,
      [`"${legacy}".migrations`, `"${schema}".migrations`],
    )) as { legacy: boolean; current: boolean }[];
    if (found?.legacy && !found.current) {
      logger.warn(
        `typeorm-sharepoint: workspace "${id}" now uses schema "${schema}"; schema "${legacy}" (the old name rule) ` +
          'still exists and may hold its cache and unsent changes. See docs/workspaces.md, "Schema names".',
        { schema, legacySchema: legacy },
      );
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
      if (total > 0) await this.checkLeftBehind(workspace, entry.site ?? '', total);
    } catch (error) {
      this.logger.warn('typeorm-sharepoint: could not count what a closing workspace left unsent', {
        workspace: workspace.id,
        error: String(error),
      });
    }
    await workspace.sync.close();
    if (entry.ownsDataSource && workspace.dataSource.isInitialized) await workspace.dataSource.destroy();
  }

  /** Changes left in a closing workspace's outbox are sent on its next attach — if the resolver still knows it. */
  private async checkLeftBehind(workspace: Workspace, site: string, pending: number): Promise<void> {
    const parked = { schema: workspace.schema, site, pending };
    this.parked.set(workspace.id, parked);
    const still = await Promise.resolve(this.options.resolve(workspace.id)).catch(() => null);
    if (still === undefined) this.markStranded(workspace.id, parked);
  }
}
