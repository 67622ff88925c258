import { SharePointSyncError } from '../errors/index.js';

// The errors `SharePointWorkspaces` throws besides the shared ones (src/errors) and `WorkspaceSettingsError`.

export class UnknownWorkspaceError extends SharePointSyncError {
  override name = 'UnknownWorkspaceError';
  readonly code = 'WORKSPACE_UNKNOWN';
  constructor(readonly workspace: string) {
    super(`typeorm-sharepoint: no workspace "${workspace}" (the resolver returned nothing for it).`);
  }
}

export class WorkspaceDisabledError extends SharePointSyncError {
  override name = 'WorkspaceDisabledError';
  readonly code = 'WORKSPACE_DISABLED';
  constructor(readonly workspace: string) {
    super(`typeorm-sharepoint: workspace "${workspace}" is disabled (settings.enabled is false).`);
  }
}

/** Attaching failed; `cause` is the original error (SiteNotFoundError, SchemaError, …). */
export class WorkspaceAttachError extends SharePointSyncError {
  override name = 'WorkspaceAttachError';
  readonly code = 'WORKSPACE_ATTACH_FAILED';
  constructor(
    readonly workspace: string,
    override readonly cause: unknown,
  ) {
    super(
      `typeorm-sharepoint: workspace "${workspace}" could not be attached: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
  }
}

/** Two workspaces would share a site or a schema: refused, naming both. */
export class WorkspaceConflictError extends SharePointSyncError {
  override name = 'WorkspaceConflictError';
  readonly code = 'WORKSPACE_CONFLICT';
  constructor(
    readonly workspace: string,
    readonly other: string,
    /** What they would share: `site` or `schema`. */
    readonly shared: 'site' | 'schema',
    /** The site (`host:/path`) or schema name. */
    readonly target: string,
  ) {
    super(
      shared === 'site'
        ? `typeorm-sharepoint: workspace "${workspace}" names site ${target}, which workspace "${other}" already uses: ` +
            "two workspaces on one site load each other's records and write into the same lists. Give each workspace " +
            'its own site, or set allowSharedSites: true if they really are meant to share it.'
        : `typeorm-sharepoint: workspace "${workspace}" would use schema "${target}", which workspace "${other}" already uses: ` +
            'they would share one cache and one outbox. Give each workspace its own schema.',
    );
  }
}

/** `maxAttached` workspaces are attached and all held or busy for `attachWaitTimeoutMs`. */
export class WorkspaceCapacityError extends SharePointSyncError {
  override name = 'WorkspaceCapacityError';
  readonly code = 'WORKSPACE_CAPACITY';
  constructor(
    readonly workspace: string,
    readonly maxAttached: number,
    held: string[],
  ) {
    super(
      `typeorm-sharepoint: workspace "${workspace}" could not be attached: all ${maxAttached} attached workspaces ` +
        `(maxAttached) stayed in use (held: ${held.join(', ') || 'none'}; the others attaching or closing). ` +
        'Release leases sooner (use() or lease.release()), or raise maxAttached.',
    );
  }
}

/** `detach(id, { drain: true })` could not empty the outbox; the workspace stays attached. */
export class WorkspaceNotDrainedError extends SharePointSyncError {
  override name = 'WorkspaceNotDrainedError';
  readonly code = 'WORKSPACE_NOT_DRAINED';
  constructor(
    readonly workspace: string,
    readonly pending: number,
    override readonly cause: unknown,
  ) {
    super(
      `typeorm-sharepoint: workspace "${workspace}" still has ${pending} change(s) not sent to SharePoint, so it stays ` +
        `attached: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
  }
}
