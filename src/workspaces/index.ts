export { type PoolTurn, WorkerPool, type WorkerPoolOptions } from './pool.js';
export { defaultWorkspaceSchema, legacyWorkspaceSchema, MAX_IDENTIFIER_BYTES } from './schema-name.js';
export {
  parseWorkspaceSettings,
  SYNC_MODES,
  type SyncMode,
  type WorkspaceSettings,
  WorkspaceSettingsError,
  type WorkspaceSettingsInput,
} from './settings.js';
export {
  SharePointWorkspaces,
  type SharePointWorkspacesOptions,
  type StrandedWorkspace,
  UnknownWorkspaceError,
  type Workspace,
  WorkspaceAttachError,
  type WorkspaceAttachOptions,
  WorkspaceCapacityError,
  WorkspaceConflictError,
  type WorkspaceDataSourceFactory,
  type WorkspaceDefinition,
  WorkspaceDisabledError,
  type WorkspaceLease,
  WorkspaceNotDrainedError,
  type WorkspaceStatus,
} from './workspaces.js';
