import { describe, expect, it } from 'vitest';
import { ConfigError, configFromEnv, ENVIRONMENT_VARIABLES } from '../src/config.js';

const site = { SHAREPOINT_SITE_HOSTNAME: 'contoso.sharepoint.com', SHAREPOINT_SITE_PATH: '/sites/crm' };

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('configFromEnv', () => {
  it('applies the documented defaults when only the site is given', () => {
    const config = configFromEnv(site);
    expect(config).toEqual({
      site: { hostname: 'contoso.sharepoint.com', path: '/sites/crm' },
      defaultPriority: 'P1',
      bootstrap: { onAttach: true, createLists: true, createColumns: true },
      cache: { lazy: true, ttlSeconds: 3600 },
      writeback: {
        enabled: true,
        batchSize: 20,
        retryAttempts: 5,
        retryDelayMs: 1000,
        batchWindowSeconds: 10,
      },
      // Unset: the option's own default (29 days) applies; the environment has none of its own.
      webhooks: {},
    });
    expect(config.credential).toBeUndefined();
  });

  it('parses every variable', () => {
    const config = configFromEnv({
      ...site,
      SHAREPOINT_GRAPH_BASE_URL: 'http://127.0.0.1:4010/v1.0',
      SHAREPOINT_SYNC_SCHEMA: 'tenant_a_sync',
      SHAREPOINT_BOOTSTRAP_ON_STARTUP: 'false',
      SHAREPOINT_AUTO_CREATE_LISTS: 'no',
      SHAREPOINT_AUTO_CREATE_COLUMNS: '0',
      SHAREPOINT_LAZY_LOAD_DATA: 'off',
      SHAREPOINT_CACHE_TTL_SECONDS: '60',
      SHAREPOINT_WRITEBACK_ENABLED: 'false',
      SHAREPOINT_WRITEBACK_BATCH_SIZE: '7',
      SHAREPOINT_WRITEBACK_RETRY_ATTEMPTS: '9',
      SHAREPOINT_SYNC_MODE: 'immediate',
      SHAREPOINT_BATCH_WINDOW_SECONDS: '30',
      SHAREPOINT_RETRY_DELAY_MS: '250',
      SHAREPOINT_WEBHOOK_BASE_URL: 'https://crm.example.com',
      SHAREPOINT_WEBHOOK_EXPIRATION_DAYS: '20',
    });
    expect(config.graph).toEqual({ baseUrl: 'http://127.0.0.1:4010/v1.0' });
    expect(config.schema).toBe('tenant_a_sync');
    expect(config.defaultPriority).toBe('P0');
    expect(config.bootstrap).toEqual({ onAttach: false, createLists: false, createColumns: false });
    expect(config.cache).toEqual({ lazy: false, ttlSeconds: 60 });
    expect(config.writeback).toEqual({
      enabled: false,
      batchSize: 7,
      retryAttempts: 9,
      retryDelayMs: 250,
      batchWindowSeconds: 30,
    });
    expect(config.webhooks).toEqual({ baseUrl: 'https://crm.example.com', expirationDays: 20 });
  });

  it.each([
    ['SHAREPOINT_WRITEBACK_BATCH_SIZE', '21', /1 to 20/],
    ['SHAREPOINT_WRITEBACK_BATCH_SIZE', 'ten', /1 to 20/],
    ['SHAREPOINT_CACHE_TTL_SECONDS', '-5', /seconds/],
    ['SHAREPOINT_SYNC_MODE', 'sometimes', /immediate, batched or scheduled/],
    ['SHAREPOINT_LAZY_LOAD_DATA', 'maybe', /true or false/],
    ['SHAREPOINT_SITE_PATH', 'sites/crm', /starting with "\/"/],
    ['SHAREPOINT_WEBHOOK_BASE_URL', 'not a url', /https URL/],
    ['SHAREPOINT_SYNC_SCHEMA', 'Drop Table', /identifier/],
  ])('rejects %s=%s naming the variable and what is allowed', (name, value, allowed) => {
    const error = errorOf(() => configFromEnv({ ...site, [name]: value }));
    expect(error.variable).toBe(name);
    expect(error.message).toContain(name);
    expect(error.message).toContain(JSON.stringify(value));
    expect(error.message).toMatch(allowed);
  });

  it('requires the site', () => {
    expect(errorOf(() => configFromEnv({})).variable).toBe('SHAREPOINT_SITE_HOSTNAME');
    expect(errorOf(() => configFromEnv({ SHAREPOINT_SITE_HOSTNAME: 'a.sharepoint.com' })).variable).toBe(
      'SHAREPOINT_SITE_PATH',
    );
  });

  it('requires all three credential parts or none, and never echoes the secret', () => {
    const error = errorOf(() =>
      configFromEnv({ ...site, SHAREPOINT_CLIENT_ID: 'app', SHAREPOINT_CLIENT_SECRET: 'super-secret-value' }),
    );
    expect(error.variable).toBe('SHAREPOINT_TENANT_ID');
    expect(error.message).not.toContain('super-secret-value');
  });

  it('builds a credential from tenant, client id and secret', () => {
    const config = configFromEnv({
      ...site,
      SHAREPOINT_TENANT_ID: '00000000-0000-0000-0000-000000000001',
      SHAREPOINT_CLIENT_ID: 'app',
      SHAREPOINT_CLIENT_SECRET: 's3cr3t',
    });
    expect(typeof config.credential?.getToken).toBe('function');
    expect(JSON.stringify(config)).not.toContain('s3cr3t');
  });

  it('documents every variable with what is allowed', () => {
    for (const [name, spec] of Object.entries(ENVIRONMENT_VARIABLES)) {
      expect(name).toMatch(/^SHAREPOINT_[A-Z_]+$/);
      expect(spec.allowed.length).toBeGreaterThan(5);
    }
  });
});
