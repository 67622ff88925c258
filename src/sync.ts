import type { Meter } from '@opentelemetry/api';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { Cache, type CacheOptions, type LoadResult, type VerifyReport } from './cache/index.js';
import { ConfigError } from './config.js';
import {
  type Logger,
  type SyncContext,
  type SyncEvent,
  type SyncEventListener,
  silentLogger,
} from './context.js';
import { GraphClient, type GraphClientOptions, type GraphCredential } from './graph/index.js';
import {
  Conflicts,
  Inbound,
  type InboundOptions,
  pendingLocalHandler,
  type WebhookOptions,
  Webhooks,
} from './inbound/index.js';
import { type ProcessTotals, type StoredFigures, SyncMetrics } from './metrics/index.js';
import { type MigrationOptions, type MigrationReport, migrateExistingRows } from './migrate/index.js';
import {
  applyProvisioning,
  type ProvisioningPlan,
  type ProvisioningResult,
  planProvisioning,
  resolveSite,
} from './provision/index.js';
import { type LoaderOptions, RelationLoaders } from './relations/index.js';
import {
  assertRelationTargets,
  type ConflictPolicy,
  type ListConfig,
  type ListSchema,
  type Priority,
  readListSchemas,
} from './schema/index.js';
import { bindSite, recordBoundLists } from './store/binding.js';
import { assertSchemaName, rows } from './store/db.js';
import { migrate } from './store/migrations.js';
import { cacheStates, statusFigures } from './store/sql.js';
import { type DeadLetter, Writeback, type WritebackOptions } from './writeback/index.js';

export type EntityRef = Function | string;

export interface SharePointSyncOptions {
  /** The SharePoint site that holds the lists, e.g. `{ hostname: 'contoso.sharepoint.com', path: '/sites/crm' }`. */
  site: { hostname: string; path: string };
  /** Any `@azure/identity` TokenCredential, or the official Graph SDK's `AuthenticationProvider`. Omit it for the emulator. */
  credential?: GraphCredential;
  /** Gateway settings: base URL (emulator, national clouds), timeouts, retry, resource-unit budget. */
  graph?: Omit<GraphClientOptions, 'credential'>;
  /** Schema of the library's own tables. Default `sharepoint_sync`. */
  schema?: string;
  /** Priority of lists whose `@SharePointList` names none (from `SHAREPOINT_SYNC_MODE`). Default `P1`. */
  defaultPriority?: Priority;
  /** Entity names to sync; other `@SharePointList` entities of the DataSource are ignored. Default: all. */
  entities?: string[];
  /**
   * Lists configured without decorators, by entity name (an `EntitySchema`'s `name` or a class name): the
   * `@SharePointList` options plus `columns: { [propertyPath]: SharePointColumnOptions | false }`. Merged
   * with decorators; the same option set differently in both is a `SchemaError`. See docs/schema.md.
   */
  lists?: Record<string, ListConfig>;
  /** Conflict policy of lists whose `@SharePointList` names none. Default `sharePointPriority`. */
  conflictResolution?: ConflictPolicy;
  /** Workspace id (multi-tenant apps, `SharePointWorkspaces`): carried by `status()` and every metric point. */
  workspace?: string;
  bootstrap?: {
    /** Create missing lists/columns during `attach`. Default true. */
    onAttach?: boolean;
    /** May bootstrap create lists? Default true. */
    createLists?: boolean;
    /** May bootstrap add columns? Default true. */
    createColumns?: boolean;
    /** Treat drift (a column that differs, an extra column) as an error. Default false: reported only. */
    failOnDrift?: boolean;
  };
  cache?: Partial<CacheOptions>;
  writeback?: Partial<WritebackOptions>;
  /** Delta polling of every list (the safety net under webhooks). `pollIntervalSeconds: 0` turns it off. */
  inbound?: InboundOptions;
  /** Change notifications: the handler's secret and path, and where Graph should call (`baseUrl`). */
  webhooks?: WebhookOptions;
  logger?: Logger;
  /** OpenTelemetry: a meter (default: the global provider's, a no-op until the app installs an SDK) and attributes added to every point. */
  metrics?: { meter?: Meter; attributes?: Record<string, string> };
}

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
}

async function readStoredFigures(context: SyncContext) {
  const [row] = await rows<{
    pending: number;
    p0: number;
    p1: number;
    p2: number;
    p3: number;
    lag_seconds: number;
    dead_letters: number;
    open_conflicts: number;
  }>(context.dataSource, statusFigures(context.schema));
  return {
    pending: row?.pending ?? 0,
    pendingByPriority: { P0: row?.p0 ?? 0, P1: row?.p1 ?? 0, P2: row?.p2 ?? 0, P3: row?.p3 ?? 0 } as Record<
      Priority,
      number
    >,
    lagSeconds: row?.lag_seconds ?? 0,
    deadLetters: row?.dead_letters ?? 0,
    openConflicts: row?.open_conflicts ?? 0,
  };
}

const optionsSchema = z.object({
  site: z.object({
    hostname: z.string().regex(/^[a-z0-9.-]+$/i, 'a host name such as contoso.sharepoint.com'),
    path: z.string().regex(/^\/\S*$/, 'a server-relative path starting with "/"'),
  }),
  schema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case PostgreSQL identifier')
    .optional(),
  defaultPriority: z.enum(['P0', 'P1', 'P2', 'P3']).optional(),
  entities: z.array(z.string().min(1)).optional(),
  conflictResolution: z
    .enum(['sharePointPriority', 'twentyPriority', 'lastWriteWins', 'manualReview'])
    .optional(),
  lists: z
    .record(
      z.string().min(1),
      z
        .object({
          title: z.string().trim().min(1).optional(),
          priority: z.enum(['P0', 'P1', 'P2', 'P3']).optional(),
          conflictResolution: z
            .enum(['sharePointPriority', 'twentyPriority', 'lastWriteWins', 'manualReview'])
            .optional(),
          columns: z.record(z.string(), z.union([z.literal(false), z.object({}).loose()])).optional(),
        })
        .loose(),
    )
    .optional(),
  cache: z
    .object({
      lazy: z.boolean().optional(),
      ttlSeconds: z.number().int().positive('a whole number of seconds ≥ 1').optional(),
    })
    .loose()
    .optional(),
  writeback: z
    .object({
      batchSize: z.number().int().min(1).max(20, 'at most 20 (Graph $batch limit)').optional(),
      retryAttempts: z.number().int().min(1).optional(),
      retryDelayMs: z.number().int().positive().optional(),
      batchWindowSeconds: z.number().positive().optional(),
    })
    .loose()
    .optional(),
});

/** `entities` keeps the named lists (and the junctions between them). */
function selectLists(all: ListSchema[], options: SharePointSyncOptions): ListSchema[] {
  let lists = all;
  if (options.entities) {
    const wanted = new Set(options.entities);
    for (const name of wanted) {
      if (!all.some((l) => l.kind === 'entity' && l.entityName === name)) {
        throw new ConfigError(
          'options.entities',
          `names of synced entities of the DataSource (@SharePointList or attach's lists: ${all
            .filter((l) => l.kind === 'entity')
            .map((l) => l.entityName)
            .join(', ')})`,
          name,
        );
      }
    }
    lists = all.filter((l) =>
      l.kind === 'junction' && l.junction
        ? wanted.has(l.junction.ownerEntityName) && wanted.has(l.junction.inverseEntityName)
        : wanted.has(l.entityName),
    );
  }
  return lists;
}

function validateOptions(options: SharePointSyncOptions): void {
  const result = optionsSchema.safeParse(options);
  if (result.success) return;
  const issue = result.error.issues[0]!;
  const path = issue.path.join('.');
  const value = issue.path.reduce<unknown>(
    (v, k) => (v as Record<PropertyKey, unknown> | undefined)?.[k as PropertyKey],
    options,
  );
  throw new ConfigError(`options.${path}`, issue.message, value === undefined ? undefined : String(value));
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
  pull(entity?: EntityRef): Promise<LoadResult[]> {
    return this.inbound.pull(entity);
  }

  /**
   * Connects the DataSource to a SharePoint site: creates the library's tables, resolves the site,
   * bootstraps lists (unless disabled), installs change capture and starts the write-back worker.
   */
  static async attach(dataSource: DataSource, options: SharePointSyncOptions): Promise<SharePointSync> {
    validateOptions(options);
    if (!dataSource.isInitialized) {
      throw new ConfigError(
        'dataSource',
        'an initialised DataSource (call `await dataSource.initialize()` first)',
      );
    }
    if (dataSource.options.type !== 'postgres') {
      throw new ConfigError(
        'dataSource.options.type',
        'postgres (the cache and the outbox live in PostgreSQL)',
        dataSource.options.type,
      );
    }
    const schema = assertSchemaName(options.schema ?? 'sharepoint_sync');
    const logger = options.logger ?? silentLogger;
    const lists = selectLists(
      readListSchemas(dataSource, {
        defaultPriority: options.defaultPriority ?? 'P1',
        ...(options.lists ? { lists: options.lists } : {}),
        ...(options.conflictResolution ? { conflictResolution: options.conflictResolution } : {}),
      }),
      options,
    );
    assertRelationTargets(lists);
    // The gauges read the library's tables through the context, which exists only once the site is known.
    let contextRef: SyncContext | undefined;
    const metrics = new SyncMetrics({
      ...(options.metrics?.meter ? { meter: options.metrics.meter } : {}),
      ...(options.metrics?.attributes || options.workspace
        ? {
            attributes: {
              ...options.metrics?.attributes,
              ...(options.workspace ? { workspace: options.workspace } : {}),
            },
          }
        : {}),
      readStoredFigures: async () =>
        contextRef
          ? readStoredFigures(contextRef)
          : { pending: 0, lagSeconds: 0, deadLetters: 0, openConflicts: 0 },
    });
    const graph = new GraphClient({
      ...options.graph,
      ...(options.credential ? { credential: options.credential } : {}),
      logger,
      onRequest: (event) => {
        metrics.onRequest(event);
        options.graph?.onRequest?.(event);
      },
    });

    // Whatever fails from here (site, permissions, bootstrap) must not leave the gauges registered.
    try {
      // The site first: a wrong site (or no permission) must leave nothing behind, not even our schema.
      const site = await resolveSite(graph, options.site);
      await migrate(dataSource, schema);

      const listeners = new Set<SyncEventListener>();
      const context: SyncContext = {
        dataSource,
        schema,
        graph,
        site: { id: site.id, ...options.site },
        lists,
        listIds: new Map(),
        // What the concerns log passes the gateway's scrubber: known secrets and tokens never reach it.
        logger: graph.scrubbingLogger(logger),
        emit(event: SyncEvent) {
          metrics.onEvent(event);
          for (const listener of listeners) {
            try {
              listener(event);
            } catch (error) {
              logger.warn('typeorm-sharepoint: an event listener threw', { error: String(error) });
            }
          }
        },
      };

      contextRef = context;

      const bootstrap = {
        onAttach: true,
        createLists: true,
        createColumns: true,
        failOnDrift: false,
        ...options.bootstrap,
      };
      const plan = await planProvisioning(graph, site.id, lists);
      // A schema caches one site: refused here, before anything is sent, if it cached another (issue 21.4).
      await bindSite(dataSource, schema, {
        siteId: site.id,
        site: `${options.site.hostname}:${options.site.path}`,
        ...(options.workspace ? { workspace: options.workspace } : {}),
        listIds: new Map(plan.lists.flatMap((l) => (l.listId ? [[l.schema.entityName, l.listId]] : []))),
      });
      if (bootstrap.onAttach) {
        const result = await applyProvisioning(graph, plan, bootstrap);
        for (const [entity, listId] of result.listIds) context.listIds.set(entity, listId);
      } else {
        for (const list of plan.lists)
          if (list.listId) context.listIds.set(list.schema.entityName, list.listId);
      }
      await recordBoundLists(dataSource, schema, context.listIds);

      const writeback = new Writeback(context, {
        enabled: true,
        batchSize: 20,
        retryAttempts: 5,
        retryDelayMs: 1000,
        batchWindowSeconds: 10,
        ...options.writeback,
      });
      await writeback.install();
      const cache = new Cache(context, { lazy: true, ttlSeconds: 3600, ...options.cache });
      cache.setConflictHandler(pendingLocalHandler(context));
      const inbound = new Inbound(context, cache, options.inbound);
      const webhooks = new Webhooks(context, inbound, options.webhooks);

      const sync = new SharePointSync(
        context,
        listeners,
        writeback,
        cache,
        metrics,
        options,
        inbound,
        webhooks,
      );
      SharePointSync.closeWithDataSource(sync);
      inbound.start();
      if (options.writeback?.enabled !== false && options.writeback?.runWorker !== false) writeback.start();
      if (options.cache?.lazy === false) {
        // A failed first load fails the attach: nothing it started may keep running behind the caller.
        await cache.loadAll().catch(async (error: unknown) => {
          await sync.close().catch(() => undefined);
          throw error;
        });
      }
      logger.info('typeorm-sharepoint: attached', {
        site: `${options.site.hostname}:${options.site.path}`,
        lists: lists.length,
      });
      return sync;
    } catch (error) {
      metrics.close();
      throw error;
    }
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
    return planProvisioning(this.context.graph, this.context.site.id, this.context.lists);
  }

  /** Creates missing lists and columns; never drops or alters anything. Idempotent. */
  async bootstrap(options: SharePointSyncOptions['bootstrap'] = {}): Promise<ProvisioningResult> {
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
  ensureLoaded(entities: EntityRef | EntityRef[]): Promise<LoadResult[]> {
    return this.cache.ensureLoaded(entities);
  }

  /** Loads every synced list now. */
  loadAll(): Promise<LoadResult[]> {
    return this.cache.loadAll();
  }

  /** Applies what changed in SharePoint since the last load (delta). */
  refresh(entity: EntityRef): Promise<LoadResult> {
    return this.cache.refresh(entity);
  }

  /** Drops every cached row and reloads from SharePoint; refuses while write-backs are pending unless `force`. */
  rebuild(options?: { force?: boolean }): Promise<LoadResult[]> {
    return this.cache.rebuild(options);
  }

  /** Compares PostgreSQL with SharePoint list by list. */
  verify(entities?: EntityRef[]): Promise<VerifyReport> {
    return this.cache.verify(entities);
  }

  /** Sends every pending change now; resolves when the outbox is empty, rejects naming dead-lettered records. */
  flush(options?: { timeoutMs?: number }): Promise<{ sent: number }> {
    return this.writeback.flush(options);
  }

  /** Queues records changed by means the capture cannot see (e.g. rows written before attach). */
  markDirty(entity: EntityRef, ids: string[]): Promise<number> {
    return this.writeback.markDirty(entity, ids);
  }

  deadLetters(filter?: { entity?: string; twentyId?: string }): Promise<DeadLetter[]> {
    return this.writeback.deadLetters(filter);
  }

  retryDeadLetters(filter?: { entity?: string; ids?: number[] }): Promise<number> {
    return this.writeback.retryDeadLetters(filter);
  }

  /**
   * Sends existing PostgreSQL rows that SharePoint does not hold yet (bootstrap, queue, drain, verify).
   * Resumable: re-running after an interruption continues and creates no duplicates. See docs/migration.md.
   */
  migrate(options?: MigrationOptions): Promise<MigrationReport> {
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
    return new RelationLoaders(this.context, options);
  }

  /** Pending write-backs by priority and the age of the oldest one. */
  pending() {
    return this.writeback.pending();
  }

  /** Pending write-backs, lag, dead letters, conflicts, per-list cache state and this process's totals. */
  async status(): Promise<SyncStatus> {
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
    };
  }

  /**
   * Stops the worker after its in-flight batch. The DataSource stays open: it is the application's.
   * Destroying the DataSource closes the sync too (see `closeWithDataSource`).
   */
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

/** The syncs attached to each DataSource, closed when it is destroyed. */
const closingWith = new WeakMap<DataSource, Set<SharePointSync>>();
