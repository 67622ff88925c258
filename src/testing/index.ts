import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type * as Msw from 'msw';
import { ResourceBudget } from './budget.js';
import { Dispatcher } from './dispatch.js';
import { FaultRegistry } from './faults.js';
import { SeededRandom } from './random.js';
import { columnJson } from './shapes.js';
import {
  EmulatorState,
  formatDate,
  type ItemRecord,
  itemETag,
  type ListRecord,
  parseSiteRef,
} from './state.js';
import { MAX_LIST_SUBSCRIPTION_MINUTES, SubscriptionService } from './subscriptions.js';
import type {
  ColumnSnapshot,
  Emulator,
  EmulatorList,
  EmulatorOptions,
  EmulatorRequest,
  EmulatorResponse,
  EmulatorSite,
  ItemSnapshot,
  ListeningServer,
} from './types.js';

export { type EmbeddedPostgresServer, startEmbeddedPostgres } from './postgres.js';
export type {
  ColumnSnapshot,
  Emulator,
  EmulatorCounters,
  EmulatorList,
  EmulatorOptions,
  EmulatorSite,
  FaultHandle,
  FaultRule,
  FaultStatus,
  ItemSnapshot,
  ListeningServer,
  RequestLogEntry,
  SubscriptionSnapshot,
} from './types.js';
export { MAX_LIST_SUBSCRIPTION_MINUTES };

function snapshot(item: ItemRecord): ItemSnapshot {
  return {
    id: String(item.id),
    eTag: itemETag(item),
    createdDateTime: formatDate(item.createdAt),
    lastModifiedDateTime: formatDate(item.modifiedAt),
    fields: structuredClone(item.fields),
  };
}

/** The user's msw (an optional peer dependency), or an error saying what needs it and what does not. */
function loadMsw(): typeof Msw {
  try {
    return createRequire(import.meta.url)('msw') as typeof Msw;
  } catch (error) {
    throw new Error(
      'emulator.handlers needs msw 2 (npm i -D msw): it is an optional peer of typeorm-sharepoint. The loopback emulator (await emulator.listen()) does not need it.',
      { cause: error },
    );
  }
}

/** Refuses options that would make the emulator behave unlike SharePoint in silence. */
function checkOptions(options: EmulatorOptions): void {
  const fail = (name: string, rule: string, value: unknown) => {
    throw new Error(`createEmulator: option '${name}' ${rule} (got ${JSON.stringify(value)}).`);
  };
  if (!Array.isArray(options.sites)) fail('sites', "must be an array of 'hostname:/path'", options.sites);
  for (const ref of options.sites) {
    if (typeof ref !== 'string' || /^[a-z]+:\/\//i.test(ref) || !/^[^/:\s]+:\//.test(ref))
      fail('sites', "needs entries like 'contoso.sharepoint.com:/sites/crm' (no scheme)", ref);
  }
  const positiveInteger = ['defaultPageSize', 'maxPageSize', 'listViewThreshold'] as const;
  for (const name of positiveInteger) {
    const v = options[name];
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) fail(name, 'must be a positive integer', v);
  }
  const nonNegative = ['latencyMs', 'notificationDelayMs'] as const;
  for (const name of nonNegative) {
    const v = options[name];
    if (v !== undefined && (!Number.isFinite(v) || v < 0)) fail(name, 'must be a number ≥ 0', v);
  }
  const ru = options.resourceUnitsPerMinute;
  if (ru !== undefined && !(ru > 0))
    fail('resourceUnitsPerMinute', 'must be > 0 (Infinity for no limit)', ru);
  const p = options.deltaRepeatProbability;
  if (p !== undefined && !(p >= 0 && p <= 1)) fail('deltaRepeatProbability', 'must be between 0 and 1', p);
  if (options.seed !== undefined && !Number.isFinite(options.seed))
    fail('seed', 'must be a number', options.seed);
}

/**
 * A SharePoint emulator: one in-memory model of sites, lists, columns, items and subscriptions, served as msw
 * handlers (`emulator.handlers`) and as a real HTTP server on loopback (`await emulator.listen()`), with
 * Graph v1.0 paths under `/v1.0`. See docs/emulator.md.
 */
export function createEmulator(options: EmulatorOptions): Emulator {
  checkOptions(options);
  const now = options.now ?? Date.now;
  const random = new SeededRandom(options.seed ?? 1);
  const state = new EmulatorState(options.sites, random, now);
  const faults = new FaultRegistry(random);
  const budget = new ResourceBudget(options.resourceUnitsPerMinute ?? Number.POSITIVE_INFINITY, now);
  const subscriptions = new SubscriptionService(
    random,
    now,
    options.notificationDelayMs ?? 50,
    (resource) => {
      const m = /^\/?sites\/([^/]+)\/lists\/([^/]+)\/?$/.exec(resource);
      if (!m) return undefined;
      const site = state.findSiteById(decodeURIComponent(m[1]!));
      return site ? state.findList(site, decodeURIComponent(m[2]!)) : undefined;
    },
  );
  state.onChange((list) => subscriptions.listChanged(list));
  const dispatcher = new Dispatcher(
    state,
    faults,
    budget,
    subscriptions,
    random,
    {
      defaultPageSize: options.defaultPageSize ?? 200,
      maxPageSize: options.maxPageSize ?? 5000,
      listViewThreshold: options.listViewThreshold ?? 5000,
      shuffleBatchResponses: options.shuffleBatchResponses ?? true,
      deltaRepeatProbability: options.deltaRepeatProbability ?? 0.05,
      latencyMs: options.latencyMs ?? 0,
    },
    now,
  );
  const servers = new Set<http.Server>();

  const listView = (list: ListRecord): EmulatorList => ({
    id: list.id,
    displayName: list.displayName,
    columns: () => list.columns.map((c) => structuredClone(columnJson(c)) as ColumnSnapshot),
    items: () => [...list.items.values()].sort((a, b) => a.id - b.id).map(snapshot),
    item: (id) => {
      const item = state.findItem(list, id);
      return item ? snapshot(item) : undefined;
    },
    createItem: (fields) => snapshot(state.createItem(list, fields)),
    updateItem: (id, fields) => snapshot(state.updateItem(list, id, fields)),
    deleteItem: (id) => state.deleteItem(list, id),
  });

  const mswHandlers = (msw: typeof Msw) => [
    msw.http.all(/\/v1\.0(\/|$)/, async ({ request }) => {
      const headers: Record<string, string> = {};
      request.headers.forEach((value, key) => {
        headers[key] = value;
      });
      const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.text();
      const answer = await dispatcher.handle({
        method: request.method,
        url: request.url,
        headers,
        ...(body ? { body } : {}),
      });
      if (answer.drop) return msw.HttpResponse.error();
      return new msw.HttpResponse(answer.body ?? null, { status: answer.status, headers: answer.headers });
    }),
  ];
  let handlers: Msw.RequestHandler[] | undefined;

  return {
    // msw is an optional peer: only the msw handlers need it, so it is loaded when they are first asked for.
    get handlers() {
      handlers ??= mswHandlers(loadMsw());
      return handlers;
    },
    async listen({ port = 0, host = '127.0.0.1', tls } = {}): Promise<ListeningServer> {
      // Graph is https only: with `tls` the links it answers are https too (the official SDK follows no other).
      const scheme = tls ? 'https' : 'http';
      const server = (tls ? https.createServer.bind(null, tls) : http.createServer)((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
          const request: EmulatorRequest = {
            method: req.method ?? 'GET',
            url: `${scheme}://${req.headers.host ?? `${host}:${port}`}${req.url ?? '/'}`,
            headers,
            ...(chunks.length ? { body: Buffer.concat(chunks).toString('utf8') } : {}),
          };
          dispatcher.handle(request).then(
            (answer: EmulatorResponse) => {
              if (answer.drop) {
                req.socket.destroy();
                return;
              }
              res.writeHead(answer.status, answer.headers);
              res.end(answer.body);
            },
            () => req.socket.destroy(),
          );
        });
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
      servers.add(server);
      const address = server.address() as AddressInfo;
      const shownHost = host.includes(':') ? `[${host}]` : host;
      return {
        url: `${scheme}://${shownHost}:${address.port}`,
        close: () =>
          new Promise<void>((resolve) => {
            servers.delete(server);
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      };
    },
    async close() {
      subscriptions.close();
      await Promise.all(
        [...servers].map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      );
      servers.clear();
    },
    faults: {
      inject: (rule) => faults.inject(rule),
      clear: () => faults.clear(),
    },
    log: {
      get entries() {
        return dispatcher.log;
      },
      counters() {
        const entries = dispatcher.log;
        return {
          requests: entries.filter((e) => !e.inBatch).length,
          batchRequests: entries.filter((e) => e.inBatch).length,
          resourceUnits: entries.reduce((n, e) => n + e.resourceUnits, 0),
          throttled: entries.filter((e) => e.throttled).length,
          faults: entries.filter((e) => e.fault !== undefined).length,
        };
      },
      reset() {
        dispatcher.log.length = 0;
      },
    },
    site(ref: string): EmulatorSite {
      const site = state.resolveSiteRef(ref);
      if (!site)
        throw new Error(
          `Emulator: no site ${ref} (sites: ${state.sites.map((s) => `${s.hostname}:${s.path}`).join(', ')})`,
        );
      return {
        id: site.id,
        lists: () => site.lists.map(listView),
        list: (idOrTitle) => {
          const list = state.findList(site, idOrTitle);
          return list ? listView(list) : undefined;
        },
        createList: (definition) => listView(state.createList(site, { ...definition })),
      };
    },
    subscriptions: () => subscriptions.snapshots(),
    expireDeltaTokens: (listId) => state.expireDeltaTokens(listId),
  };
}

export { parseSiteRef };
