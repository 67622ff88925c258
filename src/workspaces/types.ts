import type { DataSource } from 'typeorm';
import type { Logger } from '../context.js';
import type { BudgetOptions, GraphCredential } from '../graph/index.js';
import type { SharePointSync, SharePointSyncOptions, SyncStatus } from '../sync/index.js';
import type { WorkspaceSettings, WorkspaceSettingsInput } from './settings.js';

// The public types of `SharePointWorkspaces`: its options, what the resolver returns, what callers get back.

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
