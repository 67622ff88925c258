import type { Logger } from '../context.js';
import { ConfigError } from '../errors/index.js';
import type { SharePointSyncOptions } from '../sync/index.js';
import type { TenantLimiter } from './pool.js';
import { type WorkspaceSettings, WorkspaceSettingsError } from './settings.js';
import type { SharePointWorkspacesOptions, WorkspaceAttachOptions, WorkspaceDefinition } from './types.js';

/** The constructor's checks: refused before anything starts. */
export function checkWorkspacesOptions(options: SharePointWorkspacesOptions): {
  maxAttached: number;
  recordsPerTurn: number;
} {
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
  return { maxAttached, recordsPerTurn };
}

/** The application's logger with the workspace id added to every line. */
export function childLogger(logger: Logger, workspace: string): Logger {
  const add = (fields?: Record<string, unknown>) => ({ workspace, ...fields });
  return {
    debug: (m, f) => logger.debug(m, add(f)),
    info: (m, f) => logger.info(m, add(f)),
    warn: (m, f) => logger.warn(m, add(f)),
    error: (m, f) => logger.error(m, add(f)),
  };
}

/** A workspace without a credential of its own sends `defaults.credential`'s tokens to its site: said once per tenant. */
export class DefaultCredentialWarning {
  private readonly warned = new Set<string>();

  constructor(private readonly allowed: boolean) {}

  once(id: string, tenant: string, logger: Logger): void {
    if (this.allowed || this.warned.has(tenant)) return;
    this.warned.add(tenant);
    logger.warn(
      `typeorm-sharepoint: workspace "${id}" (tenant ${tenant}) has no credential of its own and uses ` +
        "defaults.credential: its tokens go to this tenant's site. Give the definition a credential, or set " +
        'allowDefaultCredential: true if that credential is valid for every tenant.',
      { tenant },
    );
  }
}

/** What `workspaceSyncOptions` needs to know of one attach. */
export interface WorkspaceAttach {
  id: string;
  definition: WorkspaceDefinition;
  settings: WorkspaceSettings;
  schema: string;
  /** The tenant's shared budget. */
  limiter(): TenantLimiter;
  overrides: WorkspaceAttachOptions | undefined;
  /** Called once the logger is known when the workspace falls back to `defaults.credential`. */
  onDefaultCredential(logger: Logger): void;
}

/** `webhooks` (inbound) options: the defaults' and the definition's, one handler path per workspace. */
function webhooksOf(
  id: string,
  defaults: NonNullable<SharePointWorkspacesOptions['defaults']>,
  own: WorkspaceAttachOptions,
  settings: WorkspaceSettings,
): NonNullable<SharePointSyncOptions['webhooks']> {
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
  return webhooks;
}

/**
 * The sync options of one workspace: defaults, then the definition, then the attach overrides, then settings.
 * Over 80 lines: mostly one object literal, the merge order of every option group.
 */
export function workspaceSyncOptions(
  workspaces: SharePointWorkspacesOptions,
  fallbackLogger: Logger,
  attach: WorkspaceAttach,
): SharePointSyncOptions {
  const { id, definition, settings, schema, overrides } = attach;
  const defaults = workspaces.defaults ?? {};
  const own = { ...definition.options, ...overrides };
  const webhooks = webhooksOf(id, defaults, own, settings);
  const credential = definition.credential ?? defaults.credential;
  const logger = childLogger(own.logger ?? defaults.logger ?? fallbackLogger, id);
  if (!definition.credential && defaults.credential) attach.onDefaultCredential(logger);
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
      limiter: attach.limiter(),
      // Whether (and where) the tenant's budget is shared across processes: the tenant's setting (issue 19).
      budget: {
        shared: { ...workspaces.defaults?.graph?.budget, ...workspaces.tenantBudget }.shared ?? true,
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
