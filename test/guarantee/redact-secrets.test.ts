import { inspect } from 'node:util';
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GraphClient } from '../../src/graph/index.js';
import { secretsOf } from '../../src/graph/redact.js';
import {
  configFromEnv,
  type Logger,
  SharePointList,
  SharePointSync,
  type SharePointSyncOptions,
  type TokenCredential,
} from '../../src/index.js';
import { createEmulator, type Emulator } from '../../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/** A bare secret: no `secret=`, no JWT shape, too short for the long-opaque pattern. */
const SECRET = 'SECRET-TOKEN-123';
const TOKEN = 'SECRET-TOKEN-456';
const CLIENT_STATE = 'hook-state-789';

// configFromEnv builds its credential on @azure/identity (loaded lazily); here its ClientSecretCredential
// fails the way Entra ID does, quoting the secret it was given.
vi.mock('@azure/identity', () => ({
  ClientSecretCredential: class {
    constructor(
      _tenant: string,
      _client: string,
      private readonly given: string,
    ) {}
    async getToken(): Promise<never> {
      throw new Error(`AADSTS7000215: Invalid client secret provided: ${this.given}. Trace ID: 0f0e`);
    }
  },
}));

@SharePointList({ title: 'Secrets', priority: 'P1' })
@Entity('secrets_probe')
class Probe {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 50 }) name!: string;
}

const SITE = 'contoso.sharepoint.com:/sites/secrets';
let db: TestDatabase;
let emulator: Emulator;
let baseUrl: string;
let dataSource: DataSource;

beforeAll(async () => {
  db = await createTestDatabase();
  emulator = createEmulator({ sites: [SITE] });
  baseUrl = `${(await emulator.listen()).url}/v1.0`;
  dataSource = new DataSource({ type: 'postgres', url: db.url, entities: [Probe], synchronize: true });
  await dataSource.initialize();
});

afterAll(async () => {
  await dataSource?.destroy();
  await emulator?.close();
  await db?.drop();
});

function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const line = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    void lines.push(`${level} ${message} ${fields ? JSON.stringify(fields) : ''}`);
  return {
    lines,
    logger: { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') },
  };
}

/** Every text an error can show: message, stack, String, JSON, inspect — down its whole cause chain. */
function texts(error: unknown): string[] {
  const out: string[] = [inspect(error, { depth: 10 })];
  const seen = new Set<unknown>();
  for (let e: unknown = error; e && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    out.push(String(e), JSON.stringify(e) ?? '');
    if (e instanceof Error) out.push(e.message, e.stack ?? '');
  }
  return out;
}

function expectNoLeak(secret: string, error: unknown, lines: string[]): void {
  expect(error).toBeInstanceOf(Error);
  const forms = [secret, encodeURIComponent(secret)];
  for (const text of [...texts(error), ...lines]) {
    for (const form of forms) expect(text.includes(form), `"${form}" in: ${text}`).toBe(false);
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const site = { hostname: 'contoso.sharepoint.com', path: '/sites/secrets' };

async function attach(options: Partial<SharePointSyncOptions>): Promise<SharePointSync> {
  return SharePointSync.attach(dataSource, {
    site,
    writeback: { runWorker: false },
    inbound: { pollIntervalSeconds: 0 },
    ...options,
    graph: { baseUrl, retry: { attempts: 1 }, ...options.graph },
  });
}

describe('a credential error quoting the bare client secret', () => {
  it('configFromEnv: the secret never reaches the error (message, stack, cause, JSON) nor the log', async () => {
    const config = configFromEnv({
      SHAREPOINT_SITE_HOSTNAME: site.hostname,
      SHAREPOINT_SITE_PATH: site.path,
      SHAREPOINT_TENANT_ID: '11111111-2222-4333-8444-555555555555',
      SHAREPOINT_CLIENT_ID: '66666666-7777-4888-8999-000000000000',
      SHAREPOINT_CLIENT_SECRET: SECRET,
    });
    const { logger, lines } = capturingLogger();
    const viaGateway = await rejection(
      new GraphClient({ baseUrl, credential: config.credential!, logger }).get('/sites/root'),
    );
    expect(String(viaGateway)).toContain('AADSTS7000215');
    expectNoLeak(SECRET, viaGateway, lines);

    const viaAttach = await rejection(attach({ credential: config.credential!, logger }));
    expect(String(viaAttach)).toContain('AADSTS7000215');
    expectNoLeak(SECRET, viaAttach, lines);
  });

  it('a credential holding `clientSecret` (as @azure/identity’s does) or one named in graph.secrets', async () => {
    const failing = (extra: object = {}): TokenCredential => ({
      ...extra,
      async getToken() {
        throw new Error(`invalid_client: secret provided: ${SECRET}`);
      },
    });
    const { logger, lines } = capturingLogger();
    const holding = await rejection(attach({ credential: failing({ clientSecret: SECRET }), logger }));
    expectNoLeak(SECRET, holding, lines);
    const named = await rejection(attach({ credential: failing(), graph: { secrets: [SECRET] }, logger }));
    expectNoLeak(SECRET, named, lines);
  });

  it('the real @azure/identity ClientSecretCredential is recognised', async () => {
    const identity = await vi.importActual<typeof import('@azure/identity')>('@azure/identity');
    const credential = new identity.ClientSecretCredential(
      '11111111-2222-4333-8444-555555555555',
      '66666666-7777-4888-8999-000000000000',
      SECRET,
    );
    expect(secretsOf(credential)).toContain(SECRET);
  });

  it("the Graph SDK's TokenCredentialAuthenticationProvider around it is recognised too", async () => {
    const identity = await vi.importActual<typeof import('@azure/identity')>('@azure/identity');
    const { TokenCredentialAuthenticationProvider } = await import(
      '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js'
    );
    const credential = new identity.ClientSecretCredential(
      '11111111-2222-4333-8444-555555555555',
      '66666666-7777-4888-8999-000000000000',
      SECRET,
    );
    const provider = new TokenCredentialAuthenticationProvider(credential, {
      scopes: ['https://graph.microsoft.com/.default'],
    });
    expect(secretsOf(provider)).toContain(SECRET);
  });
});

describe('values the gateway obtained or sent', () => {
  /** The emulator, except where `echo` answers instead (Graph echoing what it was sent). */
  function echoing(echo: (url: URL, init: RequestInit | undefined) => Response | undefined): typeof fetch {
    return (async (input: string | URL | Request, init?: RequestInit) =>
      echo(new URL(String(input)), init) ?? fetch(input, init)) as typeof fetch;
  }

  it('the access token echoed in a Graph error body (403 → PermissionError with cause)', async () => {
    const credential: TokenCredential = {
      getToken: async () => ({ token: TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }),
    };
    const { logger, lines } = capturingLogger();
    const fetchImpl = echoing((url, init) => {
      if (!url.pathname.includes(':/sites/secrets')) return undefined;
      const sent = new Headers(init?.headers).get('authorization') ?? '';
      return Response.json(
        {
          error: {
            code: 'accessDenied',
            message: `Either scp or roles claim need to be present in the token. Received: ${sent.slice(7)}`,
            innerError: { 'request-id': '0a0b0c0d-1111-4222-8333-444455556666' },
          },
        },
        { status: 403 },
      );
    });
    const error = await rejection(attach({ credential, graph: { fetch: fetchImpl }, logger }));
    expect((error as Error).name).toBe('PermissionError');
    expect((error as { cause?: unknown }).cause).toBeInstanceOf(Error);
    expectNoLeak(TOKEN, error, lines);
  });

  it('the webhook clientState echoed in a Graph error (subscription refused) and in logs', async () => {
    const { logger, lines } = capturingLogger();
    const fetchImpl = echoing((url, init) => {
      if (!url.pathname.endsWith('/subscriptions') || init?.method !== 'POST') return undefined;
      const body = JSON.parse(String(init.body)) as { clientState: string };
      return Response.json(
        {
          error: {
            code: 'InvalidRequest',
            message: `Subscription validation request failed for client state ${body.clientState}.`,
          },
        },
        { status: 400 },
      );
    });
    const sync = await attach({
      graph: { fetch: fetchImpl },
      webhooks: { baseUrl: 'https://app.example.test', clientState: CLIENT_STATE },
      logger,
    });
    try {
      const error = await rejection(sync.webhooks.ensureSubscriptions());
      expect(String(error)).toContain('Subscription validation request failed');
      expectNoLeak(CLIENT_STATE, error, lines);
    } finally {
      await sync.close();
    }
  });
});
