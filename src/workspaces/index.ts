export { type PoolTurn, WorkerPool, type WorkerPoolOptions } from './pool.js';
export {
  parseWorkspaceSettings,
  SYNC_MODES,
  type SyncMode,
  type WorkspaceSettings,
  WorkspaceSettingsError,
  type WorkspaceSettingsInput,
} from './settings.js';
export {
  defaultWorkspaceSchema,
  SharePointWorkspaces,
  type SharePointWorkspacesOptions,
  UnknownWorkspaceError,
  type Workspace,
  WorkspaceAttachError,
  type WorkspaceAttachOptions,
  type WorkspaceDataSourceFactory,
  type WorkspaceDefinition,
  WorkspaceDisabledError,
} from './workspaces.js';
