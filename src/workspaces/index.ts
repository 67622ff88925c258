export {
  UnknownWorkspaceError,
  WorkspaceAttachError,
  WorkspaceCapacityError,
  WorkspaceConflictError,
  WorkspaceDisabledError,
  WorkspaceNotDrainedError,
} from './errors.js';
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
export type {
  SharePointWorkspacesOptions,
  StrandedWorkspace,
  Workspace,
  WorkspaceAttachOptions,
  WorkspaceDataSourceFactory,
  WorkspaceDefinition,
  WorkspaceLease,
  WorkspaceStatus,
} from './types.js';
export { SharePointWorkspaces } from './workspaces.js';
