import type { DataSource } from 'typeorm';
import { Cache } from '../cache/index.js';
import {
  type Logger,
  type SyncContext,
  type SyncEvent,
  type SyncEventListener,
  silentLogger,
} from '../context.js';
import { ConfigError } from '../errors/index.js';
import { GraphClient, limiterFromBudget, StoreLedger } from '../graph/index.js';
import { Inbound, pendingLocalHandler, Webhooks } from '../inbound/index.js';
import { SyncMetrics } from '../metrics/index.js';
import { optionDefault, validateOptions } from '../options/index.js';
import { applyProvisioning, planProvisioning, resolveSite, type SiteInfo } from '../provision/index.js';
import { assertRelationTargets, type ListSchema, readListSchemas } from '../schema/index.js';
import { bindSite, recordBoundLists } from '../store/binding.js';
import { assertSchemaName, guardNewConnections } from '../store/db.js';
import { PostgresLedgerStore } from '../store/ledger.js';
import { migrate } from '../store/migrations.js';
import { Writeback } from '../writeback/index.js';
import { readListFigures, readStoredFigures } from './figures.js';
import type { SharePointSyncOptions } from './options.js';

/** Everything one attach builds: what `SharePointSync` wraps, and what a workspace pool drives. */
export interface SyncParts {
  context: SyncContext;
  listeners: Set<SyncEventListener>;
  metrics: SyncMetrics;
  writeback: Writeback;
  cache: Cache;
  inbound: Inbound;
  webhooks: Webhooks;
  options: SharePointSyncOptions;
  /** The application's logger (unscrubbed; the context's scrubs). */
  logger: Logger;
}

/** The DataSource must be initialised PostgreSQL: refused before anything is created. */
function assertDataSource(dataSource: DataSource): void {
  if (!dataSource?.isInitialized) {
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
}

/** The synced lists: the entities' metadata and `lists`, narrowed to `entities` (and the junctions between them). */
function selectLists(dataSource: DataSource, options: SharePointSyncOptions): ListSchema[] {
  const all = readListSchemas(dataSource, {
    defaultPriority: options.defaultPriority ?? optionDefault('defaultPriority'),
    ...(options.lists ? { lists: options.lists } : {}),
    ...(options.conflictResolution ? { conflictResolution: options.conflictResolution } : {}),
  });
  let lists = all;
  if (options.entities) {
    const wanted = new Set(options.entities);
    const known = all.filter((l) => l.kind === 'entity').map((l) => l.entityName);
    for (const name of wanted) {
      if (!known.includes(name)) {
        throw new ConfigError(
          'options.entities',
          `names of synced entities of the DataSource (@SharePointList or attach's lists: ${known.join(', ')})`,
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
  assertRelationTargets(lists);
  return lists;
}

/** The meters and the gateway; the gauges read the library's tables once the context exists. */
function buildGateway(
  options: SharePointSyncOptions,
  logger: Logger,
  context: () => SyncContext | undefined,
) {
  const workspace = options.workspace ? { workspace: options.workspace } : {};
  let graphRef: GraphClient | undefined;
  const metrics = new SyncMetrics({
    ...(options.metrics?.meter ? { meter: options.metrics.meter } : {}),
    ...(options.metrics?.attributes || options.workspace
      ? { attributes: { ...options.metrics?.attributes, ...workspace } }
      : {}),
    readBudget: () => graphRef?.budgetFigures() ?? Promise.resolve(undefined),
    readStoredFigures: async () => {
      const ctx = context();
      return ctx ? readStoredFigures(ctx) : { pending: 0, lagSeconds: 0, deadLetters: 0, openConflicts: 0 };
    },
    // One point per list and priority once the context exists (none before: nothing is attached yet).
    readListFigures: async () => {
      const ctx = context();
      return ctx ? readListFigures(ctx) : [];
    },
    listPriority: (entity) => context()?.lists.find((l) => l.entityName === entity)?.priority,
  });
  const limiter = options.graph?.limiter ?? limiterFromBudget(options.graph?.budget);
  const graph = new GraphClient({
    ...options.graph,
    limiter,
    ...(options.credential ? { credential: options.credential } : {}),
    logger,
    onRequest: (event) => {
      metrics.onRequest(event);
      options.graph?.onRequest?.(event);
    },
  });
  graphRef = graph;
  return { metrics, graph, limiter };
}

function buildContext(
  dataSource: DataSource,
  options: SharePointSyncOptions,
  parts: { schema: string; graph: GraphClient; site: SiteInfo; lists: ListSchema[]; metrics: SyncMetrics },
  listeners: Set<SyncEventListener>,
  logger: Logger,
): SyncContext {
  return {
    dataSource,
    schema: parts.schema,
    graph: parts.graph,
    site: { id: parts.site.id, ...options.site },
    lists: parts.lists,
    listIds: new Map(),
    // What the concerns log passes the gateway's scrubber: known secrets and tokens never reach it.
    logger: parts.graph.scrubbingLogger(logger),
    emit(event: SyncEvent) {
      parts.metrics.onEvent(event);
      for (const listener of listeners) {
        try {
          listener(event);
        } catch (error) {
          logger.warn('typeorm-sharepoint: an event listener threw', { error: String(error) });
        }
      }
    },
  };
}

/** Binds the schema to the site (refused if it cached another), bootstraps, and records the list ids. */
async function provision(context: SyncContext, options: SharePointSyncOptions): Promise<void> {
  const { dataSource, schema, graph, lists } = context;
  const bootstrap = {
    onAttach: optionDefault('bootstrap.onAttach'),
    createLists: optionDefault('bootstrap.createLists'),
    createColumns: optionDefault('bootstrap.createColumns'),
    failOnDrift: optionDefault('bootstrap.failOnDrift'),
    ...options.bootstrap,
  };
  const plan = await planProvisioning(graph, context.site.id, lists);
  // A schema caches one site: refused here, before anything is sent, if it cached another (issue 21.4).
  await bindSite(dataSource, schema, {
    siteId: context.site.id,
    site: `${options.site.hostname}:${options.site.path}`,
    ...(options.workspace ? { workspace: options.workspace } : {}),
    listIds: new Map(plan.lists.flatMap((l) => (l.listId ? [[l.schema.entityName, l.listId]] : []))),
  });
  if (bootstrap.onAttach) {
    const result = await applyProvisioning(graph, plan, bootstrap);
    for (const [entity, listId] of result.listIds) context.listIds.set(entity, listId);
    for (const c of result.relaxedColumns)
      context.logger.info(
        'typeorm-sharepoint: bootstrap made the id column optional (still indexed and unique): people may add items in SharePoint, the next pull gives them their id',
        c,
      );
  } else {
    for (const list of plan.lists) if (list.listId) context.listIds.set(list.schema.entityName, list.listId);
  }
  await recordBoundLists(dataSource, schema, context.listIds);
}

/**
 * Write-back (capture installed, worker not started), cache, inbound and webhooks of one context. Test
 * harnesses that drive one concern alone build that concern themselves on `assembleContext`'s context.
 */
export async function buildConcerns(context: SyncContext, options: SharePointSyncOptions) {
  const writeback = new Writeback(context, {
    enabled: optionDefault('writeback.enabled'),
    batchSize: optionDefault('writeback.batchSize'),
    retryAttempts: optionDefault('writeback.retryAttempts'),
    retryDelayMs: optionDefault('writeback.retryDelayMs'),
    batchWindowSeconds: optionDefault('writeback.batchWindowSeconds'),
    ...options.writeback,
  });
  await writeback.install();
  const cache = new Cache(context, {
    lazy: optionDefault('cache.lazy'),
    ttlSeconds: optionDefault('cache.ttlSeconds'),
    loadParallelism: optionDefault('cache.loadParallelism'),
    ...options.cache,
  });
  cache.setConflictHandler(pendingLocalHandler(context));
  const inbound = new Inbound(context, cache, options.inbound);
  const webhooks = new Webhooks(context, inbound, options.webhooks);
  return { writeback, cache, inbound, webhooks };
}

/** What every concern of one attach shares, before the concerns exist (`assembleContext`). */
export type ContextParts = Pick<SyncParts, 'context' | 'listeners' | 'metrics' | 'options' | 'logger'>;

/**
 * The first half of an attach, and the one way the library's parts are wired to a context: options and
 * DataSource checked, lists read, the site resolved first (a wrong site or permission leaves nothing behind,
 * not even our schema), our tables migrated, the shared budget joined, the schema bound and the lists
 * bootstrapped. On failure the gauges are unregistered; on success the caller owns `metrics.close()`.
 */
export async function assembleContext(
  dataSource: DataSource,
  options: SharePointSyncOptions,
): Promise<ContextParts> {
  validateOptions(options);
  assertDataSource(dataSource);
  const schema = assertSchemaName(options.schema ?? optionDefault('schema'));
  const logger = options.logger ?? silentLogger;
  // A backend killed as its connection starts must not end the process (the library opens many connections).
  guardNewConnections(dataSource, (error) =>
    logger.debug('typeorm-sharepoint: a PostgreSQL connection failed as it started', {
      error: String(error),
    }),
  );
  const lists = selectLists(dataSource, options);
  let contextRef: SyncContext | undefined;
  const { metrics, graph, limiter } = buildGateway(options, logger, () => contextRef);
  // Whatever fails from here (site, permissions, bootstrap) must not leave the gauges registered.
  try {
    const site = await resolveSite(graph, options.site);
    await migrate(dataSource, schema);
    // One budget for every process attached to this database (issue 19): a ledger in PostgreSQL.
    const shared = options.graph?.budget?.shared ?? true;
    if (shared !== false) {
      const where = typeof shared === 'object' ? shared : {};
      const store = await PostgresLedgerStore.open(dataSource, where.schema);
      limiter.shareWith(new StoreLedger(store), where.key ?? site.hostname.toLowerCase());
    }
    const listeners = new Set<SyncEventListener>();
    const context = buildContext(
      dataSource,
      options,
      { schema, graph, site, lists, metrics },
      listeners,
      logger,
    );
    contextRef = context;
    await provision(context, options);
    return { context, listeners, metrics, options, logger };
  } catch (error) {
    metrics.close();
    throw error;
  }
}

/**
 * Builds everything one attach needs, in order, and starts nothing: `assembleContext`, then the concerns
 * with capture installed. Used by `attach` and by `SharePointWorkspaces` (whose pool drives the write-back).
 */
export async function assembleSync(
  dataSource: DataSource,
  options: SharePointSyncOptions,
): Promise<SyncParts> {
  const shared = await assembleContext(dataSource, options);
  try {
    return { ...shared, ...(await buildConcerns(shared.context, options)) };
  } catch (error) {
    shared.metrics.close();
    throw error;
  }
}

/**
 * Starts what `assembleSync` built: the poll, the worker (unless disabled, `runWorker: false`, or a pool
 * drives it: `ownWorker: false`), and with `cache.lazy: false` the first load. A failed first load fails
 * the attach: `close` stops what was started, so nothing keeps running behind the caller.
 */
export async function startSync(parts: SyncParts, close: () => Promise<void>): Promise<void> {
  const { options } = parts;
  parts.inbound.start();
  if (options.writeback?.enabled !== false && options.writeback?.runWorker !== false) parts.writeback.start();
  if (options.cache?.lazy === false) {
    await parts.cache.loadAll().catch(async (error: unknown) => {
      await close().catch(() => undefined);
      throw error;
    });
  }
  parts.logger.info('typeorm-sharepoint: attached', {
    site: `${options.site.hostname}:${options.site.path}`,
    lists: parts.context.lists.length,
  });
}
