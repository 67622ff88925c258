import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataSource, type EntitySchema } from 'typeorm';
import type { Logger, SharePointSync, SharePointSyncOptions } from '../../src/index.js';
import { attachSync, type SyncParts } from '../../src/sync/index.js';
import { createEmulator, type Emulator } from '../../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from './database.js';

type EmulatorOptions = NonNullable<Parameters<typeof createEmulator>[0]>;

export interface Attached {
  dataSource: DataSource;
  sync: SharePointSync;
  /** The sync's concerns, for a test that drives one directly (one write-back cycle, the cache's freshness). */
  parts: SyncParts;
}

export interface AttachedSetup {
  db: TestDatabase;
  emulator: Emulator;
  /** Graph's base URL on the emulator (`…/v1.0`). */
  baseUrl: string;
  /** The site as `attach` names it. */
  site: { hostname: string; path: string };
  /**
   * One more DataSource over the database, synchronised and attached (`options` over the setup's); `poolSize`
   * bounds its connection pool (pg's default 10).
   */
  attach(options?: Partial<SharePointSyncOptions>, poolSize?: number): Promise<Attached>;
  /** Closes every sync, destroys every DataSource, stops the emulator and drops the database. */
  close(): Promise<void>;
}

/** The option groups merged one level deep: a test's `graph.retry` keeps the setup's `graph.baseUrl`. */
const GROUPS = ['graph', 'writeback', 'inbound', 'cache'] as const;

function merged(
  base: Partial<SharePointSyncOptions>,
  over: Partial<SharePointSyncOptions>,
): Partial<SharePointSyncOptions> {
  const out: Record<string, unknown> = { ...base, ...over };
  for (const group of GROUPS) {
    if (base[group] || over[group]) out[group] = { ...base[group], ...over[group] };
  }
  return out as Partial<SharePointSyncOptions>;
}

/**
 * What most integration tests set up: a fresh database, the loopback emulator with one site, and
 * DataSources attached to it. Every attach has its worker stopped (`runWorker: false`: tests flush) and no
 * poll (tests pull), unless `options` or the attach say otherwise.
 */
export async function createAttachedSetup(setup: {
  /** `host:/path`. */
  site: string;
  entities: (Function | EntitySchema)[];
  emulator?: Partial<EmulatorOptions>;
  options?: Partial<SharePointSyncOptions>;
}): Promise<AttachedSetup> {
  const [hostname, path] = setup.site.split(':') as [string, string];
  const db = await createTestDatabase();
  const emulator = createEmulator({ sites: [setup.site], ...setup.emulator });
  const baseUrl = `${(await emulator.listen()).url}/v1.0`;
  const site = { hostname, path };
  const defaults = merged(
    { site, graph: { baseUrl }, writeback: { runWorker: false }, inbound: { pollIntervalSeconds: 0 } },
    setup.options ?? {},
  );
  const attached: Attached[] = [];
  return {
    db,
    emulator,
    baseUrl,
    site,
    async attach(options = {}, poolSize?: number) {
      const dataSource = await new DataSource({
        type: 'postgres',
        url: db.url,
        entities: setup.entities,
        synchronize: true,
        ...(poolSize ? { extra: { max: poolSize } } : {}),
      }).initialize();
      try {
        const { sync, parts } = await attachSync(
          dataSource,
          merged(defaults, options) as SharePointSyncOptions,
        );
        attached.push({ dataSource, sync, parts });
        return { dataSource, sync, parts };
      } catch (error) {
        await dataSource.destroy();
        throw error;
      }
    },
    async close() {
      for (const { sync } of attached) await sync.close();
      for (const { dataSource } of attached) if (dataSource.isInitialized) await dataSource.destroy();
      await emulator.close();
      await db.drop();
    },
  };
}

/**
 * The application's HTTP server for webhook tests, on a loopback port: 503 until a handler is mounted (a
 * sync's `webhooks.handler()`, once attached with `webhooks.baseUrl: receiver.base`).
 */
async function webhookReceiver(): Promise<{
  base: string;
  mount(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): void;
  close(): void;
}> {
  let handler: ((req: http.IncomingMessage, res: http.ServerResponse) => void) | undefined;
  const server = http.createServer((req, res) => (handler ? handler(req, res) : res.writeHead(503).end()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    mount: (h) => {
      handler = h;
    },
    close: () => server.close(),
  };
}

/** What the webhook tests share: a setup, its one attach serving webhooks on a receiver, every list loaded. */
export interface WebhookSetup extends Attached {
  env: AttachedSetup;
  /** Where SharePoint notifies (the receiver's handler path). */
  receiverUrl: string;
  /** Closes the setup and the receiver. */
  close(): Promise<void>;
}

/**
 * A setup attached once with webhooks on (the shared clientState `the-shared-secret`, 40 days asked for), the
 * receiver mounted on the sync's handler, every list loaded.
 */
export async function createWebhookSetup(setup: {
  site: string;
  entities: (Function | EntitySchema)[];
  emulator?: Partial<EmulatorOptions>;
  logger: Logger;
}): Promise<WebhookSetup> {
  // The webhook receiver: this application's HTTP server with the handler mounted.
  const receiver = await webhookReceiver();
  const env = await createAttachedSetup({
    site: setup.site,
    entities: setup.entities,
    emulator: { notificationDelayMs: 10, ...setup.emulator },
    options: {
      graph: { budget: { resourceUnitsPerMinute: 1_000_000 } },
      webhooks: { baseUrl: receiver.base, clientState: 'the-shared-secret', expirationDays: 40 },
      logger: setup.logger,
    },
  });
  const attached = await env.attach();
  receiver.mount(attached.sync.webhooks.handler());
  await attached.sync.loadAll();
  return {
    ...attached,
    env,
    receiverUrl: `${receiver.base}/sharepoint/webhook`,
    async close() {
      await env.close();
      receiver.close();
    },
  };
}
