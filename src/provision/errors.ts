import { SharePointSyncError } from '../errors/index.js';

// Provisioning's errors, the permissions they name, and what drifted.

/** A column of the site that differs from the schema (reported; refused with `failOnDrift`). */
export interface DriftEntry {
  list: string;
  column: string;
  problem: 'type' | 'maxLength' | 'choices' | 'unique' | 'extraColumn' | 'required';
  detail: string;
}

/** One drift entry in words. */
export function describeDrift(d: DriftEntry): string {
  return `"${d.list}".${d.column}: ${d.detail}`;
}

/** What writing items needs (named by a 403 while resolving the site). */
export const WRITE_PERMISSION = 'Sites.Selected with write access on the site, or Sites.ReadWrite.All';
/** What creating lists and changing columns needs. */
export const MANAGE_PERMISSION = 'Sites.Manage.All (or Sites.Selected with manage/fullcontrol on the site)';

/** Graph v1.0 cannot create site collections: a missing site is something an admin must do. */
export class SiteNotFoundError extends SharePointSyncError {
  override name = 'SiteNotFoundError';
  readonly code = 'SITE_NOT_FOUND';
  constructor(
    readonly hostname: string,
    readonly path: string,
  ) {
    super(
      `typeorm-sharepoint: the SharePoint site https://${hostname}${path} does not exist or the app cannot see it. ` +
        'Graph cannot create site collections: ask a SharePoint admin to create it (SharePoint admin center → Sites → Create), ' +
        'or fix SHAREPOINT_SITE_HOSTNAME / SHAREPOINT_SITE_PATH.',
    );
  }
}

/** Graph answered 403: the app registration lacks a permission. */
export class PermissionError extends SharePointSyncError {
  override name = 'PermissionError';
  readonly code = 'PERMISSION_DENIED';
  constructor(
    readonly action: string,
    readonly permission: string,
    override readonly cause?: unknown,
  ) {
    super(
      `typeorm-sharepoint: permission denied while ${action}. The app registration needs ${permission} ` +
        '(application permission, admin consent granted).',
    );
  }
}

/** Bootstrap found drift and was told to treat it as an error (`failOnDrift`). */
export class DriftError extends SharePointSyncError {
  override name = 'DriftError';
  readonly code = 'DRIFT';
  constructor(readonly drift: DriftEntry[]) {
    super(
      `typeorm-sharepoint: SharePoint differs from the entities (failOnDrift):\n${drift
        .map((d) => `  - ${describeDrift(d)}`)
        .join('\n')}`,
    );
  }
}

/** Bootstrap met failures it cannot explain as a missing permission; each line names the list or column. */
export class BootstrapError extends SharePointSyncError {
  override name = 'BootstrapError';
  readonly code = 'BOOTSTRAP_FAILED';
  constructor(readonly failures: string[]) {
    super(`typeorm-sharepoint: bootstrap could not finish:\n  ${failures.join('\n  ')}`);
  }
}
