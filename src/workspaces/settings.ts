import { z } from 'zod';
import { ConfigError } from '../errors/index.js';
import { CONFLICT_POLICIES, isSiteRef, parseSiteRef, SITE_HOSTNAME, SITE_PATH } from '../options/index.js';
import type { ConflictPolicy, ListConfig, Priority } from '../schema/index.js';

export const SYNC_MODES = ['immediate', 'batched', 'scheduled'] as const;
export type SyncMode = (typeof SYNC_MODES)[number];

const POLICIES = CONFLICT_POLICIES;

/** What a workspace's settings may hold, as the application stores them (JSON-friendly). */
export interface WorkspaceSettingsInput {
  /** false: `get()` refuses the workspace (nothing is attached, nothing is sent). Default true. */
  enabled?: boolean;
  /** `host:/path` (e.g. `contoso.sharepoint.com:/sites/Twenty-acme`) or `{ hostname, path }`. Required. */
  site: string | { hostname: string; path: string };
  /**
   * Write-back priority of the lists whose `@SharePointList` names none: `immediate` → P0 (sent at once),
   * `batched` → P1 (after `batchWindowSeconds`), `scheduled` → P2 (every 5 minutes), or P3 once a day at
   * `schedule.hourUtc` when a schedule is given. Default `batched`.
   */
  syncMode?: SyncMode;
  /** Entity names to sync; the workspace's other `@SharePointList` entities are ignored. Default: all. */
  objects?: string[];
  /** The `batched` window in seconds (1–3600). Default 10. */
  batchWindowSeconds?: number;
  /** Daily hour (UTC, 0–23) at which `scheduled` workspaces send. A number is the hour. */
  schedule?: number | { hourUtc: number };
  /** Conflict policy of lists whose `@SharePointList` names none. Default `sharePointPriority`. */
  conflictResolution?: ConflictPolicy;
  /** Change notifications for this workspace's lists (needs a webhook base URL). Default false. */
  webhooks?: boolean;
  /**
   * Lists configured without decorators (attach's `lists`: entity name → list and column options), e.g. from
   * `twentyLists()` of `typeorm-sharepoint/twenty`. Over the definition's `options.lists`.
   */
  lists?: Record<string, ListConfig>;
}

/** Validated settings with defaults applied. */
export interface WorkspaceSettings {
  enabled: boolean;
  site: { hostname: string; path: string };
  syncMode: SyncMode;
  objects?: string[];
  batchWindowSeconds: number;
  schedule?: { hourUtc: number };
  conflictResolution?: ConflictPolicy;
  webhooks: boolean;
  lists?: Record<string, ListConfig>;
  /** Derived from `syncMode` and `schedule`. */
  defaultPriority: Priority;
}

/** A setting that cannot be used; names the workspace and the setting. */
export class WorkspaceSettingsError extends ConfigError {
  override name = 'WorkspaceSettingsError';
  override readonly code: string = 'WORKSPACE_SETTINGS_INVALID';
  constructor(
    readonly workspace: string,
    /** e.g. `settings.syncMode` */
    readonly setting: string,
    readonly problem: string,
    received?: string,
  ) {
    super(`workspace "${workspace}": ${setting}`, problem, received);
    this.message = `workspace "${workspace}": ${setting} ${problem}${received === undefined ? '' : ` (got ${received})`}`;
  }
}

/** What each setting allows, in words: the error for a bad value says the same as the docs. */
const ALLOWED: Record<keyof WorkspaceSettingsInput, string> = {
  enabled: 'true or false',
  site: 'a site as host:/path (e.g. contoso.sharepoint.com:/sites/Twenty-acme) or { hostname, path }',
  syncMode: `one of ${SYNC_MODES.join(', ')}`,
  objects: 'a non-empty list of entity names',
  batchWindowSeconds: 'a whole number of seconds from 1 to 3600',
  schedule: 'an hour of day (UTC) from 0 to 23, or { hourUtc }',
  conflictResolution: `one of ${POLICIES.join(', ')}`,
  webhooks: 'true or false',
  lists: 'an object of entity name → list options ({ title, priority, columns, … })',
};

const siteSchema = z.union([
  z.string().refine(isSiteRef),
  z.object({ hostname: z.string().regex(SITE_HOSTNAME), path: z.string().regex(SITE_PATH) }).strict(),
]);

const hour = z.number().int().min(0).max(23);

const settingsSchema = z
  .object({
    enabled: z.boolean().default(true),
    site: siteSchema,
    syncMode: z.enum(SYNC_MODES).default('batched'),
    objects: z.array(z.string().min(1)).min(1).optional(),
    batchWindowSeconds: z.number().int().min(1).max(3600).default(10),
    schedule: z.union([hour, z.object({ hourUtc: hour }).strict()]).optional(),
    conflictResolution: z.enum(POLICIES).optional(),
    webhooks: z.boolean().default(false),
    // Checked in depth at attach, with the entities at hand (unknown entity, property, option).
    lists: z.record(z.string().min(1), z.looseObject({})).optional(),
  })
  .strict();

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * Validates one workspace's settings. A bad value throws `WorkspaceSettingsError` naming the workspace and
 * the setting, e.g. `workspace "acme": settings.syncMode must be one of immediate, batched, scheduled (got "fast")`.
 */
export function parseWorkspaceSettings(workspace: string, input: unknown): WorkspaceSettings {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new WorkspaceSettingsError(
      workspace,
      'settings',
      'must be an object with at least a site',
      show(input),
    );
  }
  const result = settingsSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0]!;
      throw new WorkspaceSettingsError(
        workspace,
        `settings.${key}`,
        `is not a setting (known: ${Object.keys(ALLOWED).join(', ')})`,
      );
    }
    const top = String(issue.path[0] ?? '') as keyof WorkspaceSettingsInput;
    const value = (input as Record<string, unknown>)[top];
    if (value === undefined) {
      throw new WorkspaceSettingsError(workspace, `settings.${top}`, `is required: ${ALLOWED[top]}`);
    }
    throw new WorkspaceSettingsError(
      workspace,
      `settings.${top}`,
      `must be ${ALLOWED[top] ?? issue.message}`,
      show(value),
    );
  }
  const s = result.data;
  const site =
    typeof s.site === 'string'
      ? parseSiteRef(s.site, `workspace "${workspace}": settings.site`)
      : { hostname: s.site.hostname, path: s.site.path };
  const schedule =
    s.schedule === undefined
      ? undefined
      : typeof s.schedule === 'number'
        ? { hourUtc: s.schedule }
        : s.schedule;
  const defaultPriority: Priority =
    s.syncMode === 'immediate' ? 'P0' : s.syncMode === 'batched' ? 'P1' : schedule ? 'P3' : 'P2';
  return {
    enabled: s.enabled,
    site,
    syncMode: s.syncMode,
    ...(s.objects ? { objects: [...new Set(s.objects)] } : {}),
    batchWindowSeconds: s.batchWindowSeconds,
    ...(schedule ? { schedule } : {}),
    ...(s.conflictResolution ? { conflictResolution: s.conflictResolution } : {}),
    webhooks: s.webhooks,
    ...(s.lists ? { lists: s.lists as Record<string, ListConfig> } : {}),
    defaultPriority,
  };
}
