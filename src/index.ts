/**
 * typeorm-sharepoint: SharePoint Lists (through Microsoft Graph) as the source of truth for a TypeORM
 * application, PostgreSQL as a disposable cache. This file is the only public surface.
 */

// Cache
export {
  DeltaTokenExpiredError,
  formatVerifyReport,
  type LoadResult,
  RebuildRefusedError,
  type VerifyReport,
} from './cache/index.js';
export {
  configFromEnv,
  ENVIRONMENT_VARIABLES,
  type EnvironmentConfig,
  type EnvironmentVariable,
} from './config.js';
// Operator console (docs/console.md)
export {
  type ConsoleAuthorize,
  type ConsoleHandler,
  type ConsoleOptions,
  type ConsolePrincipal,
  type ConsoleRequestInfo,
  type ConsoleRole,
  type ConsoleWorkspaces,
  createConsole,
  type HistoryPoint,
  type ListFigures,
  type OverviewFigures,
} from './console/index.js';
export type { Logger, SyncEvent, SyncEventListener } from './context.js';
// Errors: every error the library throws extends SharePointSyncError and has a stable `code` (docs/errors.md)
export {
  CaptureInstallError,
  ClosedError,
  ConfigError,
  InternalError,
  ListNotProvisionedError,
  SharePointSyncError,
  UsageError,
} from './errors/index.js';
// Gateway (advanced use: talk to the same site with the same retry, pacing and auth)
export {
  type AuthenticationProvider,
  type BudgetFigures,
  type BudgetOptions,
  GraphClient,
  type GraphClientOptions,
  type GraphCredential,
  GraphError,
  odataString,
  ResourceUnitLimiter,
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
// Options: the one site reference format
export { parseSiteRef } from './options/index.js';
// Bootstrap
export {
  BootstrapError,
  DriftError,
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
  ConversionError,
  type FieldSchema,
  type KeptRule,
  keptBySharePoint,
  keptRule,
  type ListConfig,
  type ListSchema,
  type Priority,
  SchemaError,
  SHAREPOINT_NUMBER_DIGITS,
  SharePointColumn,
  type SharePointColumnOptions,
  SharePointIgnore,
  SharePointList,
  type SharePointListOptions,
  ValidationError,
} from './schema/index.js';
// Site binding (a schema caches one site)
export { SiteBindingError } from './store/binding.js';
export { type EntityRef, SharePointSync, type SharePointSyncOptions } from './sync/index.js';
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
  WorkspaceCapacityError,
  WorkspaceConflictError,
  type WorkspaceDataSourceFactory,
  type WorkspaceDefinition,
  WorkspaceDisabledError,
  WorkspaceNotDrainedError,
  type WorkspaceSettings,
  WorkspaceSettingsError,
  type WorkspaceSettingsInput,
} from './workspaces/index.js';
// Write-back
export {
  type ConflictResolution,
  type DeadLetter,
  FlushTimeoutError,
  type WritebackConflict,
  WritebackFlushError,
  type WritebackOptions,
} from './writeback/index.js';
