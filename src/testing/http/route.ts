import type { SeededRandom } from '../random.js';
import type { ColumnRecord, ListRecord, SiteRecord } from '../store/records.js';
import type { EmulatorState } from '../store/state.js';
import type { SubscriptionService } from '../subscriptions.js';
import type { Answer, Parsed } from './request.js';

export interface DispatchSettings {
  defaultPageSize: number;
  maxPageSize: number;
  listViewThreshold: number;
  shuffleBatchResponses: boolean;
  deltaRepeatProbability: number;
  /** The latency model: a fixed time per outer HTTP call plus a time per list item an answer carries. */
  latency: { perRequestMs: number; perItemMs: number };
}

/** What a route's handler gets: the request, the emulator's parts, and the resolved path parameters. */
export interface RouteContext {
  request: Parsed;
  state: EmulatorState;
  subscriptions: SubscriptionService;
  random: SeededRandom;
  settings: DispatchSettings;
  now: () => number;
  /** The `$batch` envelope's runner of one inner request (charged, faulted and logged on its own). */
  batch: {
    newId(): string;
    inner(raw: Record<string, unknown>, batchId: string): Promise<Answer>;
  };
  /** Path parameters, present when the route's pattern names them. */
  site: SiteRecord;
  list: ListRecord;
  column: ColumnRecord;
  /** The raw `{item}` / `{subscription}` segment. */
  item: string;
  subscription: string;
}

export type Handler = (context: RouteContext) => Answer | Promise<Answer>;

/**
 * One route as data (as msw's handlers are): a path pattern below `/v1.0` and a handler per method. Pattern
 * segments are literals or parameters: `{site}` (by id or `hostname:/path:`), `{list}` (id or title),
 * `{column}` (id or name), `{item}`, `{subscription}`. A literal also matches its OData function-call form
 * (`delta` matches `delta(token='…')`). A method the route lacks answers 405.
 */
export interface Route {
  path: string;
  methods: Partial<Record<'GET' | 'POST' | 'PATCH' | 'DELETE', Handler>>;
  /** The `$batch` envelope: never charged, never inside another batch. */
  envelope?: boolean;
}
