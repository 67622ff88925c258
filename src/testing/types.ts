import type { RequestHandler } from 'msw';

/** Options of {@link createEmulator}. */
export interface EmulatorOptions {
  /** Sites that exist, as `hostname:/server-relative-path`, e.g. `contoso.sharepoint.com:/sites/crm`. Others answer 404. */
  sites: string[];
  /** Seed for fault probabilities, `$batch` shuffling and delta repeats (same seed, same run). */
  seed?: number;
  /** Items per page when no `$top` is given (Graph: 200). */
  defaultPageSize?: number;
  /** Largest page; a larger `$top` is capped to it (Graph: 5000). */
  maxPageSize?: number;
  /** Lists with more items refuse non-indexed `$filter` queries even with the Prefer header (SharePoint: 5000). */
  listViewThreshold?: number;
  /** Resource-unit budget per rolling minute; default Infinity (never throttles unless asked). */
  resourceUnitsPerMinute?: number;
  /** Answer `$batch` inner responses in a (seeded) shuffled order, as Graph may. Default true. */
  shuffleBatchResponses?: boolean;
  /** Probability that an entry of a delta page appears twice in the feed. Default 0.05. */
  deltaRepeatProbability?: number;
  /**
   * The latency model: every HTTP call answers after `perRequestMs` plus `perItemMs` for each list item it
   * carries (a page of items, a delta page, one item; inside `$batch` the items of every inner answer).
   * Default none.
   */
  latency?: LatencyModel;
  /** The same as `latency: { perRequestMs: latencyMs }` (give one or the other). Default 0. */
  latencyMs?: number;
  /** Fault rules injected from the start, as `emulator.faults.inject(rule)` would. */
  faults?: FaultRule[];
  /** Window in which item changes are coalesced into one webhook notification. Default 50. */
  notificationDelayMs?: number;
  /** Clock in epoch milliseconds; tests can move time. Default `Date.now`. */
  now?: () => number;
}

/** A fixed time per HTTP call plus a time per list item returned (e.g. 100 ms + 0.2 ms × 5,000 items). */
export interface LatencyModel {
  perRequestMs?: number;
  perItemMs?: number;
}

export type FaultStatus = 429 | 500 | 502 | 503 | 504;

/** One fault to inject; every matching request rolls `probability` (seeded) until `count` hits. */
export interface FaultRule {
  /** HTTP method, e.g. 'POST' (any when absent). */
  method?: string;
  /** Matched against the Graph path without `/v1.0` and without query, e.g. `/\/items$/` or `'/$batch'`. */
  path?: string | RegExp;
  /** Outer HTTP calls, inner `$batch` requests, or both (default 'any'). */
  scope?: 'request' | 'inner' | 'any';
  /** Answer with this status and a Graph error body; the request is not applied. */
  status?: FaultStatus;
  /** Sent as `Retry-After` with 429/503. */
  retryAfterSeconds?: number;
  /** Added latency; the request still succeeds unless another effect applies. */
  latencyMs?: number;
  /** The connection drops before the request is applied. */
  drop?: boolean;
  /** The request is applied, then the connection drops (the client sees a network error). */
  lostResponse?: boolean;
  /** 0..1, default 1 (seeded). */
  probability?: number;
  /** Stop after this many hits (default unlimited). */
  count?: number;
}

export interface FaultHandle {
  remove(): void;
  readonly hits: number;
}

export interface RequestLogEntry {
  at: number;
  method: string;
  path: string;
  query: string;
  status: number;
  resourceUnits: number;
  inBatch: boolean;
  batchId?: string;
  throttled: boolean;
  fault?: string;
}

export interface EmulatorCounters {
  /** Outer HTTP calls. */
  requests: number;
  /** Requests inside `$batch` envelopes. */
  batchRequests: number;
  resourceUnits: number;
  throttled: number;
  faults: number;
}

/** Graph `columnDefinition` JSON. */
export type ColumnSnapshot = Record<string, unknown> & { id: string; name: string; displayName: string };

export interface ItemSnapshot {
  id: string;
  eTag: string;
  createdDateTime: string;
  lastModifiedDateTime: string;
  fields: Record<string, unknown>;
}

export interface SubscriptionSnapshot {
  id: string;
  resource: string;
  siteId: string;
  listId: string;
  changeType: string;
  notificationUrl: string;
  clientState: string | null;
  expirationDateTime: string;
  expired: boolean;
  /** Notifications delivered (2xx answer). */
  notificationsDelivered: number;
  /** Notifications given up on after every retry failed. */
  notificationsDropped: number;
}

export interface EmulatorList {
  readonly id: string;
  readonly displayName: string;
  columns(): ColumnSnapshot[];
  items(): ItemSnapshot[];
  item(id: string): ItemSnapshot | undefined;
  createItem(fields: Record<string, unknown>): ItemSnapshot;
  updateItem(id: string, fields: Record<string, unknown>): ItemSnapshot;
  deleteItem(id: string): void;
}

export interface EmulatorSite {
  readonly id: string;
  lists(): EmulatorList[];
  list(idOrTitle: string): EmulatorList | undefined;
  /** Creates a generic list as a site owner would (same rules as `POST /lists`). */
  createList(definition: { displayName: string; columns?: Record<string, unknown>[] }): EmulatorList;
}

export interface ListeningServer {
  /** `http://127.0.0.1:PORT` (`https://` with `tls`); Graph paths live at `${url}/v1.0/...`. */
  url: string;
  close(): Promise<void>;
}

export interface Emulator {
  /** msw 2 handlers answering Graph paths under `/v1.0` on any origin. */
  handlers: RequestHandler[];
  /** `tls` (a key and certificate in PEM) serves https, as Graph does: its nextLinks and deltaLinks are https. */
  listen(options?: {
    port?: number;
    host?: string;
    tls?: { key: string | Buffer; cert: string | Buffer };
  }): Promise<ListeningServer>;
  /** Closes every server it started and stops timers. */
  close(): Promise<void>;
  faults: {
    inject(rule: FaultRule): FaultHandle;
    clear(): void;
  };
  log: {
    readonly entries: readonly RequestLogEntry[];
    counters(): EmulatorCounters;
    reset(): void;
  };
  /** Backdoor: act as a person editing in SharePoint (not logged, costs no RU, triggers delta and webhooks). */
  site(ref: string): EmulatorSite;
  subscriptions(): readonly SubscriptionSnapshot[];
  /** The next use of any delta token issued so far (for one list, or all) answers 410. */
  expireDeltaTokens(listId?: string): void;
}

/** A transport-neutral request, as the msw handlers and the loopback server hand it to the dispatcher. */
export interface EmulatorRequest {
  method: string;
  /** Absolute URL (its origin is used for `@odata.nextLink`). */
  url: string;
  headers: Record<string, string>;
  body?: string;
}

export type EmulatorResponse =
  | { status: number; headers: Record<string, string>; body?: string; drop?: undefined }
  | { drop: true };
