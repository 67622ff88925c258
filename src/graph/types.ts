import type { GraphCredential } from './auth.js';
import type { GraphError } from './errors.js';
import type { BudgetOptions, ResourceUnitLimiter } from './limiter.js';

// The gateway's public types: what callers pass to `GraphClient` and what they get back.

export type GraphMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** Receives only scrubbed text: never a token, an Authorization header or a secret. */
export interface GraphLogger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  info?(message: string, fields?: Record<string, unknown>): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
  error?(message: string, fields?: Record<string, unknown>): void;
}

/** One Graph request as seen by metrics (one per HTTP call and one per inner `$batch` request). */
export interface GraphRequestEvent {
  method: string;
  /** Path relative to the base URL, query values removed. */
  path: string;
  /** HTTP status; 0 when no answer arrived. */
  status: number;
  resourceUnits: number;
  durationMs: number;
  /** 1 for the first try. */
  attempt: number;
  throttled: boolean;
  inBatch: boolean;
}

export interface GraphClientOptions {
  /** Default `https://graph.microsoft.com/v1.0` (national clouds and the emulator change it). */
  baseUrl?: string;
  /**
   * An `@azure/identity` `TokenCredential` or the official Graph SDK's `AuthenticationProvider`.
   * Omitted → no Authorization header (credential-free mode for the emulator).
   */
  credential?: GraphCredential;
  /**
   * Values that must never appear in an error or a log line (replaced by `[redacted]` wherever they appear).
   * The client secret of a credential from `configFromEnv` or of an `@azure/identity` `ClientSecretCredential`,
   * and every token obtained, are added by themselves.
   */
  secrets?: string[];
  /** Default `['https://graph.microsoft.com/.default']`. */
  scopes?: string[];
  /** Per attempt (connect + answer + body), default 30 000. */
  timeoutMs?: number;
  /** `attempts` counts the first try: defaults 6 tries, 500 ms, 60 000 ms, factor 2. */
  retry?: { attempts?: number; minDelayMs?: number; maxDelayMs?: number; factor?: number };
  /**
   * Defaults 1200 RU per minute (600 requests × 2 RU) paced as a token bucket, 1,200,000 RU per day,
   * slow down below 20 % remaining. See `BudgetOptions` and docs/graph.md.
   */
  budget?: BudgetOptions;
  /**
   * A resource-unit budget shared with other clients that spend the same tenant's quota (workspaces of one
   * tenant): pacing, `RateLimit-*` slow-down and `Retry-After` pauses then apply to all of them. When given,
   * `budget` is ignored.
   */
  limiter?: ResourceUnitLimiter;
  logger?: GraphLogger;
  onRequest?: (event: GraphRequestEvent) => void;
  /** Injectable; default the global `fetch`. */
  fetch?: typeof fetch;
  /**
   * Whether list-item delta exists where `baseUrl` points. Default: true, except the US Government and China
   * clouds (Microsoft Graph reference, "listItem: delta", national cloud table), where loads page through the
   * list instead.
   */
  listItemDelta?: boolean;
}

export interface GraphRequest {
  method: GraphMethod;
  /** Relative to `baseUrl` (`/sites/...`, may carry a query string), or an absolute URL on the same origin. */
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * A POST is resent after a lost response (timeout, dropped connection, 504) only when it is
   * idempotent; otherwise the retryable error is thrown so the caller can look for the item.
   * GET, PUT, PATCH and DELETE are always treated as idempotent.
   */
  idempotent?: boolean;
}

export interface GraphResponse<T> {
  status: number;
  body: T;
  headers: Record<string, string>;
}

export type BatchResult<T = unknown> =
  | { ok: true; status: number; body: T; headers: Record<string, string> }
  | { ok: false; status: number; error: GraphError };

export interface GraphPage<T> {
  value: T[];
  nextLink?: string;
  deltaLink?: string;
}

export interface GraphRequestInit {
  query?: GraphRequest['query'];
  headers?: Record<string, string>;
  idempotent?: boolean;
}

export interface GraphStats {
  /** Graph requests sent; each inner `$batch` request counts, the envelope does not. */
  requests: number;
  resourceUnits: number;
  /** Answers with 429 or 503. */
  throttled: number;
  /** Requests sent again after a retryable failure. */
  retries: number;
}
