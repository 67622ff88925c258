import type { DataSource } from 'typeorm';
import { type Logger, silentLogger } from '../context.js';
import { ResourceUnitLimiter, type TokenCredential } from '../graph/index.js';
import { assertSchemaName } from '../store/db.js';
import { SharePointSync, type SharePointSyncOptions, type SyncStatus } from '../sync.js';
import type { Writeback } from '../writeback/index.js';
import { type PoolTurn, WorkerPool } from './pool.js';
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
  credential?: TokenCredential;
  /** Attach options for this workspace, over the constructor's `defaults`. */
  options?: WorkspaceAttachOptions;
}

export interface SharePointWorkspacesOptions {
  /** Looks a workspace up (database row, config file…); `undefined` means there is no such workspace. */
  resolve(workspaceId: string): Promise<WorkspaceDefinition | undefined> | WorkspaceDefinition | undefined;
  /** Workspaces kept attached at once; the least recently used is closed (after a flush) beyond it. Default 20. */
  maxAttached?: number;
  /** A workspace not asked for (`get`) for this long is closed (after a flush). Default: never. */
  idleTimeoutMs?: number;
  /** How long closing a workspace waits for its outbox to empty; what is left is sent on its next attach. Default 60 000. */
  flushTimeoutMs?: number;
  /** Attach options for every workspace (Graph base URL, credential, cache, bootstrap, write-back, logger, metrics). */
  defaults?: WorkspaceAttachOptions & { credential?: TokenCredential };
  /** Budget of each tenant (one per tenant, shared by its workspaces). Default: `defaults.graph.budget`, else 1200 RU per minute. */
  tenantBudget?: { resourceUnitsPerMinute?: number; windowMs?: number; slowDownBelowRatio?: number };
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

export class UnknownWorkspaceError extends Error {
  override name = 'UnknownWorkspaceError';
  constructor(readonly workspace: string) {
    super(`typeorm-sharepoint: no workspace "${workspace}" (the resolver returned nothing for it).`);
  }
}

export class WorkspaceDisabledError extends Error {
  override name = 'WorkspaceDisabledError';
  constructor(readonly workspace: string) {
    super(`typeorm-sharepoint: workspace "${workspace}" is disabled (settings.enabled is false).`);
  }
}

/** Attaching failed; `cause` is the original error (SiteNotFoundError, SchemaError, …). */
export class WorkspaceAttachError extends Error {
  override name = 'WorkspaceAttachError';
  constructor(
    readonly workspace: string,
    override readonly cause: unknown,
  ) {
    super(
      `typeorm-sharepoint: workspace "${workspace}" could not be attached: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
  }
}

interface Entry {
  id: string;
  state: 'attaching' | 'attached' | 'closing';
  ready: Promise<Workspace>;
  workspace?: Workspace;
  ownsDataSource: boolean;
  writeback: boolean;
  lastUsed: number;
  closed?: Promise<void>;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** `workspace_<id>` made into a lower-case PostgreSQL identifier. */
export function defaultWorkspaceSchema(workspaceId: string): string {
  const cleaned = workspaceId.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return `workspace_${cleaned}`.slice(0, 63);
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
 */
export class SharePointWorkspaces {
  private readonly entries = new Map<string, Entry>();
  private readonly limiters = new Map<string, ResourceUnitLimiter>();
  private readonly pool: WorkerPool;
  private readonly logger: Logger;
  private readonly maxAttached: number;
  private workerWanted: boolean;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: SharePointWorkspacesOptions) {
    if (typeof options?.resolve !== 'function') {
      throw new TypeError(
        'SharePointWorkspaces: options.resolve must be a function workspaceId → definition.',
      );
    }
    const maxAttached = options.maxAttached ?? 20;
    if (!Number.isInteger(maxAttached) || maxAttached < 1) {
      throw new TypeError(
        `SharePointWorkspaces: maxAttached must be a whole number ≥ 1, got ${maxAttached}.`,
      );
    }
    if (options.idleTimeoutMs !== undefined && !(options.idleTimeoutMs > 0)) {
      throw new TypeError(`SharePointWorkspaces: idleTimeoutMs must be > 0, got ${options.idleTimeoutMs}.`);
    }
    const recordsPerTurn = options.worker?.recordsPerTurn ?? 20;
    if (!Number.isInteger(recordsPerTurn) || recordsPerTurn < 1 || recordsPerTurn > 20) {
      throw new TypeError(
        `SharePointWorkspaces: worker.recordsPerTurn must be 1..20, got ${recordsPerTurn}.`,
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
    if (options.idleTimeoutMs !== undefined) {
      const every = Math.max(20, Math.min(options.idleTimeoutMs / 2, 30_000));
      this.sweeper = setInterval(() => this.closeIdle(), every);
      this.sweeper.unref?.();
    }
  }

  /** The workspace's `SharePointSync`, attaching it first if needed (concurrent callers share one attach). */
  async get(workspaceId: string): Promise<SharePointSync> {
    return (await this.workspace(workspaceId)).sync;
  }

  /** The attached workspace (sync, DataSource, validated settings, schema, tenant), attaching it if needed. */
  async workspace(workspaceId: string): Promise<Workspace> {
    if (this.closing) throw new Error('typeorm-sharepoint: SharePointWorkspaces is closed.');
    if (typeof workspaceId !== 'string' || workspaceId === '') {
      throw new TypeError('SharePointWorkspaces.get: a workspace id (non-empty string) is required.');
    }
    for (;;) {
      const entry = this.entries.get(workspaceId);
      if (!entry) break;
      if (entry.state === 'closing') {
        await entry.closed;
        continue;
      }
      this.touch(entry);
      return entry.ready;
    }
    const entry: Entry = {
      id: workspaceId,
      state: 'attaching',
      ready: undefined as unknown as Promise<Workspace>,
      ownsDataSource: false,
      writeback: true,
      lastUsed: Date.now(),
    };
    entry.ready = this.attach(entry).then(
      (workspace) => {
        entry.workspace = workspace;
        entry.state = 'attached';
        this.evictBeyondLimit(entry);
        return workspace;
      },
      (error) => {
        if (this.entries.get(workspaceId) === entry) this.entries.delete(workspaceId);
        throw error;
      },
    );
    this.entries.set(workspaceId, entry);
    return entry.ready;
  }

  /** Ids of the workspaces attached now (attaching and closing ones included), least recently used first. */
  attached(): string[] {
    return [...this.entries.keys()];
  }

  /** `status()` of every attached workspace; each carries its `workspace` id. */
  async status(): Promise<SyncStatus[]> {
    const ready = [...this.entries.values()].filter((e) => e.state === 'attached' && e.workspace);
    return Promise.all(ready.map((e) => e.workspace!.sync.status()));
  }

  /**
   * Closes one workspace cleanly: stops giving it turns, flushes its outbox (up to `flushTimeoutMs`; what is
   * left stays in its outbox for the next attach), stops it and destroys the DataSource if a factory made it.
   * The next `get` attaches it again.
   */
  async detach(workspaceId: string, options: { flush?: boolean } = {}): Promise<void> {
    const entry = this.entries.get(workspaceId);
    if (!entry) return;
    if (entry.state === 'closing') return entry.closed;
    entry.state = 'closing';
    entry.closed = (async () => {
      try {
        const workspace = await entry.ready.catch(() => undefined);
        if (workspace) await this.shutDown(entry, workspace, options.flush !== false);
      } finally {
        if (this.entries.get(workspaceId) === entry) this.entries.delete(workspaceId);
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
      await Promise.allSettled([...this.entries.keys()].map((id) => this.detach(id, options)));
      await this.pool.stop();
    })();
    return this.closing;
  }

  private touch(entry: Entry): void {
    entry.lastUsed = Date.now();
    // Map order is the LRU order: most recently used last.
    this.entries.delete(entry.id);
    this.entries.set(entry.id, entry);
  }

  private evictBeyondLimit(keep: Entry): void {
    let open = [...this.entries.values()].filter((e) => e.state !== 'closing');
    while (open.length > this.maxAttached) {
      const victim = open.find((e) => e !== keep && e.state === 'attached');
      if (!victim) break;
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
      open = open.filter((e) => e !== victim);
    }
  }

  private closeIdle(): void {
    const idle = this.options.idleTimeoutMs;
    if (idle === undefined) return;
    const horizon = Date.now() - idle;
    for (const entry of [...this.entries.values()]) {
      if (entry.state === 'attached' && entry.lastUsed <= horizon) {
        this.logger.info('typeorm-sharepoint: closing an idle workspace', {
          workspace: entry.id,
          idleTimeoutMs: idle,
        });
        void this.detach(entry.id).catch(() => undefined);
      }
    }
  }

  private limiterFor(tenant: string): ResourceUnitLimiter {
    let limiter = this.limiters.get(tenant);
    if (!limiter) {
      const budget = { ...this.options.defaults?.graph?.budget, ...this.options.tenantBudget };
      limiter = new ResourceUnitLimiter({
        resourceUnitsPerWindow: budget.resourceUnitsPerMinute ?? 1200,
        windowMs: budget.windowMs ?? 60_000,
        slowDownBelowRatio: budget.slowDownBelowRatio ?? 0.2,
      });
      this.limiters.set(tenant, limiter);
    }
    return limiter;
  }

  private async attach(entry: Entry): Promise<Workspace> {
    const id = entry.id;
    const definition = await this.options.resolve(id);
    if (!definition) throw new UnknownWorkspaceError(id);
    const settings = parseWorkspaceSettings(id, definition.settings);
    if (!settings.enabled) throw new WorkspaceDisabledError(id);

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
    const tenant = definition.tenant ?? settings.site.hostname;
    const defaults = this.options.defaults ?? {};
    const own = definition.options ?? {};
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
    const options: SharePointSyncOptions = {
      ...defaults,
      ...own,
      site: settings.site,
      schema,
      workspace: id,
      defaultPriority: settings.defaultPriority,
      ...(settings.objects ? { entities: settings.objects } : {}),
      ...(settings.conflictResolution ? { conflictResolution: settings.conflictResolution } : {}),
      ...(credential ? { credential } : {}),
      logger,
      graph: { ...defaults.graph, ...own.graph, limiter: this.limiterFor(tenant) },
      bootstrap: { ...defaults.bootstrap, ...own.bootstrap },
      cache: { ...defaults.cache, ...own.cache },
      writeback: {
        ...defaults.writeback,
        ...own.writeback,
        batchWindowSeconds: settings.batchWindowSeconds,
        ...(settings.schedule ? { dailyHourUtc: settings.schedule.hourUtc } : {}),
        // The shared pool drives every workspace's outbox.
        runWorker: false,
      },
      metrics: { ...defaults.metrics, ...own.metrics },
    };
    if (settings.webhooks) options.webhooks = webhooks;
    else delete options.webhooks;
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
      const sync = await SharePointSync.attach(dataSource, options);
      const workspace: Workspace = { id, sync, dataSource, settings, schema, tenant };
      if (entry.writeback) {
        const writeback = (sync as unknown as { writeback: Writeback }).writeback;
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
    await workspace.sync.close();
    if (entry.ownsDataSource && workspace.dataSource.isInitialized) await workspace.dataSource.destroy();
  }
}
