import { z } from 'zod';
import { ConfigError, UsageError } from './errors/index.js';
import { CREDENTIAL_SECRETS, type TokenCredential } from './graph/index.js';
import { OPTIONS, optionDefault, SITE_HOSTNAME, SITE_PATH } from './options/index.js';

export { ConfigError };

/** Exactly the spellings docs/configuration.md lists (any case); zod's default set is larger. */
export const BOOLEAN_SPELLINGS = { true: ['true', '1', 'yes', 'on'], false: ['false', '0', 'no', 'off'] };
const bool = z.stringbool({
  truthy: BOOLEAN_SPELLINGS.true,
  falsy: BOOLEAN_SPELLINGS.false,
  case: 'insensitive',
});
const BOOL_ALLOWED = 'true or false (also 1/0, yes/no, on/off, any case)';
const positiveInt = (max?: number) =>
  max === undefined ? z.coerce.number().int().positive() : z.coerce.number().int().positive().max(max);

/**
 * Every variable the original Twenty-on-SharePoint plan named, with what is allowed and the default.
 * Kept as data so the error for a bad value and the docs say the same thing.
 */
export const ENVIRONMENT_VARIABLES = {
  SHAREPOINT_SITE_HOSTNAME: {
    schema: z.string().regex(SITE_HOSTNAME),
    allowed: OPTIONS['site.hostname'].allowed,
  },
  SHAREPOINT_SITE_PATH: {
    schema: z.string().regex(SITE_PATH),
    allowed: OPTIONS['site.path'].allowed,
  },
  SHAREPOINT_TENANT_ID: {
    schema: z.string().min(1),
    allowed: 'the Entra ID tenant id (GUID or domain)',
    secret: false,
  },
  SHAREPOINT_CLIENT_ID: { schema: z.string().min(1), allowed: 'the app registration (client) id' },
  SHAREPOINT_CLIENT_SECRET: {
    schema: z.string().min(1),
    allowed: 'the client secret of the app registration',
    secret: true,
  },
  SHAREPOINT_GRAPH_BASE_URL: {
    schema: OPTIONS['graph.baseUrl'].schema,
    allowed: OPTIONS['graph.baseUrl'].allowed,
  },
  SHAREPOINT_GRAPH_RU_PER_MINUTE: {
    schema: positiveInt(),
    allowed: "a whole number of resource units ≥ 1 (your tenant's budget per app per minute; default 1200)",
  },
  SHAREPOINT_SYNC_SCHEMA: { schema: OPTIONS.schema.schema, allowed: OPTIONS.schema.allowed },
  SHAREPOINT_BOOTSTRAP_ON_STARTUP: {
    schema: bool,
    allowed: BOOL_ALLOWED,
    default: optionDefault('bootstrap.onAttach'),
  },
  SHAREPOINT_AUTO_CREATE_LISTS: {
    schema: bool,
    allowed: BOOL_ALLOWED,
    default: optionDefault('bootstrap.createLists'),
  },
  SHAREPOINT_AUTO_CREATE_COLUMNS: {
    schema: bool,
    allowed: BOOL_ALLOWED,
    default: optionDefault('bootstrap.createColumns'),
  },
  SHAREPOINT_LAZY_LOAD_DATA: { schema: bool, allowed: BOOL_ALLOWED, default: optionDefault('cache.lazy') },
  SHAREPOINT_CACHE_TTL_SECONDS: {
    schema: positiveInt(),
    allowed: OPTIONS['cache.ttlSeconds'].allowed,
    default: optionDefault('cache.ttlSeconds'),
  },
  SHAREPOINT_WRITEBACK_ENABLED: {
    schema: bool,
    allowed: BOOL_ALLOWED,
    default: optionDefault('writeback.enabled'),
  },
  SHAREPOINT_WRITEBACK_BATCH_SIZE: {
    schema: positiveInt(20),
    allowed: OPTIONS['writeback.batchSize'].allowed,
    default: optionDefault('writeback.batchSize'),
  },
  SHAREPOINT_WRITEBACK_RETRY_ATTEMPTS: {
    schema: positiveInt(100),
    allowed: 'a whole number from 1 to 100',
    default: optionDefault('writeback.retryAttempts'),
  },
  SHAREPOINT_SYNC_MODE: {
    schema: z.enum(['immediate', 'batched', 'scheduled']),
    allowed: 'immediate, batched or scheduled',
    default: 'batched',
  },
  SHAREPOINT_BATCH_WINDOW_SECONDS: {
    schema: positiveInt(3600),
    allowed: 'a whole number of seconds from 1 to 3600',
    default: optionDefault('writeback.batchWindowSeconds'),
  },
  SHAREPOINT_RETRY_DELAY_MS: {
    schema: positiveInt(600_000),
    allowed: 'a whole number of milliseconds from 1 to 600000',
    default: optionDefault('writeback.retryDelayMs'),
  },
  SHAREPOINT_WEBHOOK_BASE_URL: {
    schema: OPTIONS['webhooks.baseUrl'].schema,
    allowed: OPTIONS['webhooks.baseUrl'].allowed,
  },
  // No default here: unset, the option's own default applies (webhooks.expirationDays, 29 days), so the
  // environment and the options cannot disagree.
  SHAREPOINT_WEBHOOK_EXPIRATION_DAYS: {
    schema: z.coerce.number().positive().max(365),
    allowed:
      'a number of days > 0 (default 29; Graph allows list subscriptions up to 42,300 minutes, longer is capped with a warning)',
  },
} as const satisfies Record<
  string,
  { schema: z.ZodType; allowed: string; default?: unknown; secret?: boolean }
>;

export type EnvironmentVariable = keyof typeof ENVIRONMENT_VARIABLES;

type Parsed = { [K in EnvironmentVariable]?: z.output<(typeof ENVIRONMENT_VARIABLES)[K]['schema']> };

/** The sync mode sets the write-back priority of lists that do not name one. */
const PRIORITY_BY_MODE = { immediate: 'P0', batched: 'P1', scheduled: 'P2' } as const;

export interface EnvironmentConfig {
  site: { hostname: string; path: string };
  credential?: TokenCredential;
  graph?: { baseUrl?: string; budget?: { resourceUnitsPerMinute: number } };
  schema?: string;
  defaultPriority: 'P0' | 'P1' | 'P2';
  bootstrap: { onAttach: boolean; createLists: boolean; createColumns: boolean };
  cache: { lazy: boolean; ttlSeconds: number };
  writeback: {
    enabled: boolean;
    batchSize: number;
    retryAttempts: number;
    retryDelayMs: number;
    batchWindowSeconds: number;
  };
  webhooks: { baseUrl?: string; expirationDays?: number };
}

function parseVariable<K extends EnvironmentVariable>(name: K, raw: string | undefined): Parsed[K] {
  const spec = ENVIRONMENT_VARIABLES[name] as {
    schema: z.ZodType;
    allowed: string;
    default?: unknown;
    secret?: boolean;
  };
  const value = raw?.trim();
  if (value === undefined || value === '') return spec.default as Parsed[K];
  const result = spec.schema.safeParse(value);
  if (!result.success) throw new ConfigError(name, spec.allowed, spec.secret ? undefined : value);
  return result.data as Parsed[K];
}

/**
 * Builds `SharePointSync.attach` options from environment variables (all optional except the site),
 * validating each one: a bad value throws a `ConfigError` naming the variable and what is allowed.
 *
 * A client credential is created from tenant/client id/secret through `@azure/identity` (a peer
 * dependency, loaded only when a token is first needed). Without them no credential is set, which is
 * right for the emulator (`SHAREPOINT_GRAPH_BASE_URL`).
 */
export function configFromEnv(env: Record<string, string | undefined> = process.env): EnvironmentConfig {
  const v = <K extends EnvironmentVariable>(name: K) => parseVariable(name, env[name]);
  const hostname = v('SHAREPOINT_SITE_HOSTNAME');
  const path = v('SHAREPOINT_SITE_PATH');
  if (!hostname)
    throw new ConfigError('SHAREPOINT_SITE_HOSTNAME', ENVIRONMENT_VARIABLES.SHAREPOINT_SITE_HOSTNAME.allowed);
  if (!path)
    throw new ConfigError('SHAREPOINT_SITE_PATH', ENVIRONMENT_VARIABLES.SHAREPOINT_SITE_PATH.allowed);

  const tenantId = v('SHAREPOINT_TENANT_ID');
  const clientId = v('SHAREPOINT_CLIENT_ID');
  const clientSecret = v('SHAREPOINT_CLIENT_SECRET');
  const given = [tenantId, clientId, clientSecret].filter(Boolean).length;
  if (given > 0 && given < 3) {
    const missing = (
      ['SHAREPOINT_TENANT_ID', 'SHAREPOINT_CLIENT_ID', 'SHAREPOINT_CLIENT_SECRET'] as const
    ).find((n) => !env[n]?.trim());
    throw new ConfigError(
      missing ?? 'SHAREPOINT_CLIENT_SECRET',
      'all three of tenant id, client id and client secret, or none of them',
    );
  }
  const baseUrl = v('SHAREPOINT_GRAPH_BASE_URL');
  const schema = v('SHAREPOINT_SYNC_SCHEMA');
  const ruPerMinute = v('SHAREPOINT_GRAPH_RU_PER_MINUTE');
  const webhookBaseUrl = v('SHAREPOINT_WEBHOOK_BASE_URL');
  const expirationDays = v('SHAREPOINT_WEBHOOK_EXPIRATION_DAYS');

  return {
    site: { hostname, path },
    ...(given === 3 ? { credential: lazyClientSecretCredential(tenantId!, clientId!, clientSecret!) } : {}),
    ...(baseUrl || ruPerMinute
      ? {
          graph: {
            ...(baseUrl ? { baseUrl } : {}),
            ...(ruPerMinute ? { budget: { resourceUnitsPerMinute: ruPerMinute } } : {}),
          },
        }
      : {}),
    ...(schema ? { schema } : {}),
    defaultPriority: PRIORITY_BY_MODE[v('SHAREPOINT_SYNC_MODE')!],
    bootstrap: {
      onAttach: v('SHAREPOINT_BOOTSTRAP_ON_STARTUP')!,
      createLists: v('SHAREPOINT_AUTO_CREATE_LISTS')!,
      createColumns: v('SHAREPOINT_AUTO_CREATE_COLUMNS')!,
    },
    cache: { lazy: v('SHAREPOINT_LAZY_LOAD_DATA')!, ttlSeconds: v('SHAREPOINT_CACHE_TTL_SECONDS')! },
    writeback: {
      enabled: v('SHAREPOINT_WRITEBACK_ENABLED')!,
      batchSize: v('SHAREPOINT_WRITEBACK_BATCH_SIZE')!,
      retryAttempts: v('SHAREPOINT_WRITEBACK_RETRY_ATTEMPTS')!,
      retryDelayMs: v('SHAREPOINT_RETRY_DELAY_MS')!,
      batchWindowSeconds: v('SHAREPOINT_BATCH_WINDOW_SECONDS')!,
    },
    webhooks: {
      ...(webhookBaseUrl ? { baseUrl: webhookBaseUrl } : {}),
      ...(expirationDays !== undefined ? { expirationDays } : {}),
    },
  };
}

/**
 * `@azure/identity` is a peer dependency: loaded on the first token request, so that apps using the
 * emulator or their own credential never need it installed.
 */
function lazyClientSecretCredential(
  tenantId: string,
  clientId: string,
  clientSecret: string,
): TokenCredential {
  let credential: Promise<TokenCredential> | undefined;
  return {
    // The gateway redacts the secret wherever an error or a log would quote it.
    [CREDENTIAL_SECRETS]: [clientSecret],
    async getToken(scopes, options) {
      credential ??= import('@azure/identity').then(
        (identity) =>
          new identity.ClientSecretCredential(tenantId, clientId, clientSecret) as unknown as TokenCredential,
        () => {
          throw new UsageError(
            'typeorm-sharepoint: SHAREPOINT_CLIENT_SECRET is set but @azure/identity is not installed; run `npm install @azure/identity`.',
          );
        },
      );
      return (await credential).getToken(scopes, options);
    },
  };
}
