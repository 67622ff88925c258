import type { RequestHandler } from 'msw';
import { backdoorSite } from './backdoor.js';
import { ResourceBudget } from './budget.js';
import { FaultRegistry } from './faults.js';
import { Dispatcher } from './http/dispatcher.js';
import { checkOptions, dispatchSettings } from './options.js';
import { SeededRandom } from './random.js';
import { parseSiteRef } from './store/site-ref.js';
import { EmulatorState } from './store/state.js';
import { MAX_LIST_SUBSCRIPTION_MINUTES, SubscriptionService } from './subscriptions.js';
import { LoopbackServers } from './transports/loopback.js';
import { mswHandlers } from './transports/msw.js';
import type { Emulator, EmulatorOptions } from './types.js';

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
  LatencyModel,
  ListeningServer,
  RequestLogEntry,
  SubscriptionSnapshot,
} from './types.js';
export { MAX_LIST_SUBSCRIPTION_MINUTES, parseSiteRef };

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
  for (const rule of options.faults ?? []) faults.inject(rule);
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
    dispatchSettings(options),
    now,
  );
  const loopback = new LoopbackServers(dispatcher);
  let handlers: RequestHandler[] | undefined;

  return {
    // msw is an optional peer: only the msw handlers need it, so it is loaded when they are first asked for.
    get handlers() {
      handlers ??= mswHandlers(dispatcher);
      return handlers;
    },
    listen: (listenOptions) => loopback.listen(listenOptions),
    async close() {
      subscriptions.close();
      await loopback.close();
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
    site: (ref) => backdoorSite(state, ref),
    subscriptions: () => subscriptions.snapshots(),
    expireDeltaTokens: (listId) => state.expireDeltaTokens(listId),
  };
}
