/**
 * typeorm-sharepoint: SharePoint Lists (through Microsoft Graph) as the source of truth for a TypeORM
 * application, PostgreSQL as a disposable cache. This file is the only public surface.
 */

// Cache
export {
  formatVerifyReport,
  type LoadResult,
  RebuildRefusedError,
  type VerifyReport,
} from './cache/index.js';
export {
  ConfigError,
  configFromEnv,
  ENVIRONMENT_VARIABLES,
  type EnvironmentConfig,
  type EnvironmentVariable,
} from './config.js';
export type { Logger, SyncEvent, SyncEventListener } from './context.js';
// Gateway (advanced use: talk to the same site with the same retry, pacing and auth)
export {
  type AuthenticationProvider,
  GraphClient,
  type GraphClientOptions,
  type GraphCredential,
  GraphError,
  odataString,
  type TokenCredential,
} from './graph/index.js';
// Inbound (changes made in SharePoint) and conflicts
export {
  type Conflict,
  type ConflictChoice,
  ConflictNotFoundError,
  Conflicts,
  type InboundOptions,
  MAX_SUBSCRIPTION_MINUTES,
  type SubscriptionInfo,
  type WebhookOptions,
  Webhooks,
} from './inbound/index.js';
// Metrics
export type { ProcessTotals, StoredFigures } from './metrics/index.js';
// Migration of existing data
export {
  formatMigrationReport,
  type MigrationListReport,
  type MigrationOptions,
  type MigrationProgress,
  type MigrationReport,
} from './migrate/index.js';
// Bootstrap
export {
  formatPlan,
  formatProvisioningResult,
  PermissionError,
  type ProvisioningPlan,
  type ProvisioningResult,
  SiteNotFoundError,
} from './provision/index.js';
// Relations
export {
  FILTER_CHUNK_SIZE,
  InvalidTwentyIdError,
  type LoaderOptions,
  RelationLoaders,
} from './relations/index.js';
// Entities
export {
  type ConflictPolicy,
  type FieldSchema,
  type ListConfig,
  type ListSchema,
  type Priority,
  SchemaError,
  SharePointColumn,
  type SharePointColumnOptions,
  SharePointIgnore,
  SharePointList,
  type SharePointListOptions,
  ValidationError,
} from './schema/index.js';
export { type EntityRef, SharePointSync, type SharePointSyncOptions } from './sync.js';
// Many workspaces (multi-tenant)
export {
  defaultWorkspaceSchema,
  legacyWorkspaceSchema,
  parseWorkspaceSettings,
  SharePointWorkspaces,
  type SharePointWorkspacesOptions,
  SYNC_MODES,
  type SyncMode,
  UnknownWorkspaceError,
  type Workspace,
  WorkspaceAttachError,
  type WorkspaceAttachOptions,
  type WorkspaceDataSourceFactory,
  type WorkspaceDefinition,
  WorkspaceDisabledError,
  type WorkspaceSettings,
  WorkspaceSettingsError,
  type WorkspaceSettingsInput,
} from './workspaces/index.js';
// Write-back
export { type DeadLetter, WritebackFlushError } from './writeback/index.js';
