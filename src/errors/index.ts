/**
 * The library's errors. Every error typeorm-sharepoint throws extends `SharePointSyncError` and carries a
 * stable `code` (docs/errors.md lists them): match on `code` or `instanceof`, never on the message.
 * This folder imports nothing, so every folder may import it.
 */
export abstract class SharePointSyncError extends Error {
  /** Stable, documented in docs/errors.md (`GraphError`: Graph's own error code). */
  abstract readonly code: string;
}

/** A configuration value that cannot be used; names the variable (or option) and what is allowed. */
export class ConfigError extends SharePointSyncError {
  override name = 'ConfigError';
  readonly code: string = 'CONFIG_INVALID';
  constructor(
    /** The environment variable or option path, e.g. `SHAREPOINT_CACHE_TTL_SECONDS`. */
    readonly variable: string,
    /** What is allowed, in words. */
    readonly allowed: string,
    /** The value that was given (omitted for secrets). */
    readonly received?: string,
  ) {
    super(
      `typeorm-sharepoint: ${variable} ${received === undefined ? 'is missing or invalid' : `is ${JSON.stringify(received)}`}; allowed: ${allowed}.`,
    );
  }
}

/**
 * A call the library cannot serve as asked: an unknown entity, a property that is no relation, an argument
 * out of range, a command-line usage problem (the CLI prints it and exits with code 2).
 */
export class UsageError extends SharePointSyncError {
  override name = 'UsageError';
  readonly code = 'USAGE';
}

/** A call on something already closed (`sync.close()`, `workspaces.close()`, a destroyed DataSource). */
export class ClosedError extends SharePointSyncError {
  override name = 'ClosedError';
  readonly code = 'CLOSED';
  constructor(
    /** What is closed, e.g. `SharePointSync`. */
    readonly target: string,
    /** The call that was refused, e.g. `flush()`. */
    readonly call: string,
    detail = `call it before ${target} is closed`,
  ) {
    super(`typeorm-sharepoint: ${call} was called after ${target} was closed; ${detail}.`);
  }
}

/** A list the sync has no SharePoint list id for: bootstrap has not created it (or was turned off). */
export class ListNotProvisionedError extends SharePointSyncError {
  override name = 'ListNotProvisionedError';
  readonly code = 'LIST_NOT_PROVISIONED';
  constructor(readonly entity: string) {
    super(
      `typeorm-sharepoint: no SharePoint list id for ${entity}; run bootstrap (sync.bootstrap() or the CLI's bootstrap) first.`,
    );
  }
}

/** The capture trigger could not be installed on a table (usually: other transactions kept it locked). */
export class CaptureInstallError extends SharePointSyncError {
  override name = 'CaptureInstallError';
  readonly code = 'CAPTURE_INSTALL_FAILED';
}

/** A broken internal invariant: a bug of the library, never the application's input. Please report it. */
export class InternalError extends SharePointSyncError {
  override name = 'InternalError';
  readonly code = 'INTERNAL';
}
