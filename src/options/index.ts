import { z } from 'zod';
import { ConfigError } from '../errors/index.js';

/**
 * The options of `attach` in one table: each option's type (a zod schema), default and what is allowed, in
 * words. `attach` validates against it and takes its defaults from it; `configFromEnv` (src/config.ts), the
 * workspaces settings and the CLI take their defaults, words and site rule from here, so the environment,
 * the options and the docs cannot disagree. docs/configuration.md is the readable copy (a test checks it).
 */

export const SITE_HOSTNAME = /^[a-z0-9.-]+$/i;
export const SITE_PATH = /^\/\S*$/;
const SITE_REF = /^([a-z0-9.-]+):(\/\S*)$/i;
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

export const SITE_REF_ALLOWED =
  'a site as host:/path without a scheme, e.g. contoso.sharepoint.com:/sites/crm';

/**
 * `contoso.sharepoint.com:/sites/crm` → `{ hostname, path }`: the one site reference format of the library
 * (the CLI's `--site`, workspace settings; the emulator accepts the same). A bad one is a `ConfigError`
 * naming `what` (the flag or setting) and the format.
 */
export function parseSiteRef(ref: string, what = 'site'): { hostname: string; path: string } {
  const match = SITE_REF.exec(ref);
  if (!match || SCHEME.test(ref)) throw new ConfigError(what, SITE_REF_ALLOWED, ref);
  return { hostname: match[1]!, path: match[2]! };
}

/** Is `ref` a site reference `parseSiteRef` accepts? */
export function isSiteRef(ref: string): boolean {
  return SITE_REF.test(ref) && !SCHEME.test(ref);
}

export const PRIORITIES = ['P0', 'P1', 'P2', 'P3'] as const;
export const CONFLICT_POLICIES = [
  'sharePointPriority',
  'twentyPriority',
  'lastWriteWins',
  'manualReview',
] as const;

const httpUrl = z.url({ protocol: /^https?$/ });

interface OptionSpec {
  schema: z.ZodType;
  allowed: string;
  default?: unknown;
}

/** Every validated option of `attach`, by path, with its default. */
export const OPTIONS = {
  'site.hostname': {
    schema: z.string().regex(SITE_HOSTNAME),
    allowed: 'a host name such as contoso.sharepoint.com',
  },
  'site.path': {
    schema: z.string().regex(SITE_PATH),
    allowed: 'a server-relative path starting with "/", such as /sites/crm',
  },
  'graph.baseUrl': {
    schema: httpUrl,
    allowed: 'an absolute http(s) URL such as https://graph.microsoft.com/v1.0 (or the emulator)',
    default: 'https://graph.microsoft.com/v1.0',
  },
  schema: {
    schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/),
    allowed: 'a lower-case PostgreSQL identifier',
    default: 'sharepoint_sync',
  },
  defaultPriority: { schema: z.enum(PRIORITIES), allowed: PRIORITIES.join(', '), default: 'P1' },
  entities: { schema: z.array(z.string().min(1)), allowed: 'a list of entity names' },
  conflictResolution: {
    schema: z.enum(CONFLICT_POLICIES),
    allowed: CONFLICT_POLICIES.join(', '),
    default: 'sharePointPriority',
  },
  workspace: { schema: z.string().min(1), allowed: 'a non-empty workspace id' },
  'bootstrap.onAttach': { schema: z.boolean(), allowed: 'true or false', default: true },
  'bootstrap.createLists': { schema: z.boolean(), allowed: 'true or false', default: true },
  'bootstrap.createColumns': { schema: z.boolean(), allowed: 'true or false', default: true },
  'bootstrap.failOnDrift': { schema: z.boolean(), allowed: 'true or false', default: false },
  'cache.lazy': { schema: z.boolean(), allowed: 'true or false', default: true },
  'cache.ttlSeconds': {
    schema: z.number().int().positive(),
    allowed: 'a whole number of seconds ≥ 1',
    default: 3600,
  },
  'cache.loadParallelism': {
    schema: z.number().int().min(1).max(16),
    allowed: 'a whole number from 1 to 16 (1 reads a list in one sequence)',
    default: 4,
  },
  'writeback.enabled': { schema: z.boolean(), allowed: 'true or false', default: true },
  'writeback.batchSize': {
    schema: z.number().int().min(1).max(20),
    allowed: 'a whole number from 1 to 20 (Graph $batch limit)',
    default: 20,
  },
  'writeback.retryAttempts': { schema: z.number().int().min(1), allowed: 'a whole number ≥ 1', default: 5 },
  'writeback.retryDelayMs': {
    schema: z.number().int().positive(),
    allowed: 'a whole number of milliseconds ≥ 1',
    default: 1000,
  },
  'writeback.batchWindowSeconds': {
    schema: z.number().positive(),
    allowed: 'a number of seconds > 0',
    default: 10,
  },
  'writeback.dailyHourUtc': {
    schema: z.number().int().min(0).max(23),
    allowed: 'an hour of day (UTC) from 0 to 23',
    default: 2,
  },
  'inbound.pollIntervalSeconds': {
    schema: z.number().min(0),
    allowed: 'a number of seconds ≥ 0 (0 turns polling off)',
    default: 60,
  },
  'webhooks.baseUrl': {
    schema: httpUrl,
    allowed: 'a public https URL that Graph can reach (http for the emulator)',
  },
  'webhooks.path': {
    schema: z.string().regex(/^\/\S*$/),
    allowed: 'a path starting with "/"',
    default: '/sharepoint/webhook',
  },
  'webhooks.clientState': {
    schema: z.string().min(1).max(128),
    allowed: "1 to 128 characters (Graph's limit)",
  },
  'webhooks.expirationDays': { schema: z.number().positive(), allowed: 'a number of days > 0', default: 29 },
  'webhooks.minPullIntervalMs': {
    schema: z.number().min(0),
    allowed: 'a number of milliseconds ≥ 0',
    default: 1000,
  },
  'webhooks.maxBodyBytes': {
    schema: z.number().min(1),
    allowed: 'a number of bytes ≥ 1',
    default: 1024 * 1024,
  },
} as const satisfies Record<string, OptionSpec>;

export type OptionPath = keyof typeof OPTIONS;

/** The default of an option, typed. */
export function optionDefault<P extends OptionPath>(
  path: P,
): (typeof OPTIONS)[P] extends { default: infer D } ? D : undefined {
  return (OPTIONS[path] as OptionSpec).default as never;
}

function valueAt(options: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
      options,
    );
}

/** What `lists` may hold per entity (its columns are checked against the entity when the schema is read). */
const listConfig = z
  .object({
    title: z.string().trim().min(1).optional(),
    priority: z.enum(PRIORITIES).optional(),
    conflictResolution: z.enum(CONFLICT_POLICIES).optional(),
    columns: z.record(z.string(), z.union([z.literal(false), z.object({}).loose()])).optional(),
  })
  .loose();

/**
 * Validates `attach` options against the table: the first bad one throws a `ConfigError` naming
 * `options.<path>`, the value and what is allowed. Unset options are left to their defaults.
 */
export function validateOptions(options: unknown): void {
  if (!options || typeof options !== 'object') {
    throw new ConfigError('options', 'an object with at least site: { hostname, path }');
  }
  if (!valueAt(options, 'site') || typeof valueAt(options, 'site') !== 'object') {
    throw new ConfigError(
      'options.site',
      '{ hostname, path }, e.g. { hostname: "contoso.sharepoint.com", path: "/sites/crm" }',
    );
  }
  for (const [path, spec] of Object.entries(OPTIONS) as [string, OptionSpec][]) {
    const value = valueAt(options, path);
    const required = path.startsWith('site.');
    if (value === undefined && !required) continue;
    if (!spec.schema.safeParse(value).success) {
      throw new ConfigError(`options.${path}`, spec.allowed, value === undefined ? undefined : show(value));
    }
  }
  const lists = valueAt(options, 'lists');
  if (lists !== undefined) {
    const result = z.record(z.string().min(1), listConfig).safeParse(lists);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      const path = ['lists', ...issue.path].join('.');
      const value = valueAt(options, path);
      throw new ConfigError(`options.${path}`, issue.message, value === undefined ? undefined : show(value));
    }
  }
}

function show(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
