import { createTimeout } from 'retry';
import { type TokenCredential, TokenProvider } from './auth.js';
import { resourceUnitCost } from './cost.js';
import {
  codeForStatus,
  GraphError,
  parseRetryAfter,
  provesNotApplied,
  RETRYABLE_STATUSES,
  readGraphErrorBody,
} from './errors.js';
import {
  type BudgetFigures,
  type BudgetOptions,
  limiterFromBudget,
  type RateLimitHeaders,
  type ResourceUnitLimiter,
} from './limiter.js';
import { SecretScrubber, secretsOf } from './redact.js';

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
  /** Omitted → no Authorization header (credential-free mode for the emulator). */
  credential?: TokenCredential;
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
   * clouds (FACTS.md), where loads page through the list instead.
   */
  listItemDelta?: boolean;
}

/** Clouds without list-item delta (learn.microsoft.com/graph/api/listitem-delta: global service only). */
const NO_LIST_ITEM_DELTA = new Set([
  'graph.microsoft.us',
  'dod-graph.microsoft.us',
  'microsoftgraph.chinacloudapi.cn',
]);

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

const DEFAULT_BASE_URL = 'https://graph.microsoft.com/v1.0';
const DEFAULT_SCOPES = ['https://graph.microsoft.com/.default'];
/** Graph's `$batch` limit. */
const MAX_BATCH_SIZE = 20;
/** `$batch` HTTP calls of one `batch()` in flight at once. */
const BATCH_CONCURRENCY = 2;
/** Network error codes meaning the request never reached the server (safe to resend any request). */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

interface Target {
  url: string;
  /** Relative to the base URL, with the query string: what `$batch` inner requests carry. */
  relative: string;
  /** Relative path with query names only: safe for messages and logs. */
  display: string;
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

type Sent =
  | { ok: true; response: RawResponse; durationMs: number; token?: string }
  | { ok: false; error: GraphError };

/** The only code that speaks HTTP to Microsoft Graph. */
export class GraphClient {
  readonly baseUrl: string;
  /** False in clouds without list-item delta: loads read the whole list, refreshes read it again. */
  readonly supportsListItemDelta: boolean;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly tokens?: TokenProvider;
  private readonly limiter: ResourceUnitLimiter;
  private readonly scrubber = new SecretScrubber();
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  private readonly retry: { attempts: number; minDelayMs: number; maxDelayMs: number; factor: number };
  private readonly budgetPerWindow: number;
  private readonly counters: GraphStats = { requests: 0, resourceUnits: 0, throttled: 0, retries: 0 };

  constructor(private readonly options: GraphClientOptions = {}) {
    const base = new URL(options.baseUrl ?? DEFAULT_BASE_URL);
    if (base.protocol !== 'https:' && base.protocol !== 'http:') {
      throw new TypeError(`GraphClient: baseUrl must be an http(s) URL, got ${base.protocol}`);
    }
    this.baseUrl = `${base.origin}${base.pathname.replace(/\/+$/, '')}`;
    this.origin = base.origin;
    this.supportsListItemDelta =
      options.listItemDelta ?? !NO_LIST_ITEM_DELTA.has(base.hostname.toLowerCase());
    this.basePath = base.pathname.replace(/\/+$/, '');
    for (const secret of [...(options.secrets ?? []), ...secretsOf(options.credential)]) {
      this.scrubber.pin(secret);
    }
    if (options.credential) {
      this.tokens = new TokenProvider(options.credential, options.scopes ?? DEFAULT_SCOPES, this.scrubber);
    }
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retry = {
      attempts: Math.max(1, options.retry?.attempts ?? 6),
      minDelayMs: options.retry?.minDelayMs ?? 500,
      maxDelayMs: options.retry?.maxDelayMs ?? 60_000,
      factor: options.retry?.factor ?? 2,
    };
    this.budgetPerWindow =
      options.limiter?.resourceUnitsPerWindow ?? options.budget?.resourceUnitsPerMinute ?? 1200;
    this.limiter = options.limiter ?? limiterFromBudget(options.budget);
  }

  /** The budget's figures: used, remaining, throttles (all processes when the budget is shared). */
  budgetFigures(): Promise<BudgetFigures> {
    return this.limiter.figures();
  }

  /** Totals since the client was created (for `status()` and metrics). */
  stats(): GraphStats {
    return { ...this.counters };
  }

  get<T = unknown>(path: string, init?: GraphRequestInit): Promise<T> {
    return this.request<T>({ method: 'GET', path, ...init }).then((r) => r.body);
  }

  post<T = unknown>(path: string, body?: unknown, init?: GraphRequestInit): Promise<T> {
    return this.request<T>({ method: 'POST', path, body, ...init }).then((r) => r.body);
  }

  patch<T = unknown>(path: string, body?: unknown, init?: GraphRequestInit): Promise<T> {
    return this.request<T>({ method: 'PATCH', path, body, ...init }).then((r) => r.body);
  }

  put<T = unknown>(path: string, body?: unknown, init?: GraphRequestInit): Promise<T> {
    return this.request<T>({ method: 'PUT', path, body, ...init }).then((r) => r.body);
  }

  delete<T = unknown>(path: string, init?: GraphRequestInit): Promise<T> {
    return this.request<T>({ method: 'DELETE', path, ...init }).then((r) => r.body);
  }

  /** One Graph request with auth, pacing and retries. Throws `GraphError`. */
  async request<T = unknown>(req: GraphRequest): Promise<GraphResponse<T>> {
    const method = req.method.toUpperCase() as GraphMethod;
    const target = this.resolve(method, req.path, req.query);
    const units = resourceUnitCost(method, target.relative);
    const mayResend = method !== 'POST' || req.idempotent === true;
    const headers: Record<string, string> = { Accept: 'application/json', ...req.headers };
    let payload: string | undefined;
    if (req.body !== undefined) {
      payload = typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
      if (!hasHeader(headers, 'content-type')) headers['Content-Type'] = 'application/json';
    }

    let refreshedToken = false;
    for (let attempt = 1; ; attempt++) {
      const sent = await this.send(method, target, headers, payload, units);
      this.counters.requests++;
      this.counters.resourceUnits += units;
      if (attempt > 1) this.counters.retries++;
      if (!sent.ok) {
        const error = sent.error;
        this.emit({
          method,
          path: target.display,
          status: 0,
          resourceUnits: units,
          durationMs: 0,
          attempt,
          throttled: false,
          inBatch: false,
        });
        const resendable = mayResend || error.code === 'connectionRefused';
        if (error.retryable && resendable && attempt < this.retry.attempts) {
          await this.backoff(attempt, error, target);
          continue;
        }
        throw error;
      }
      const { response, durationMs } = sent;
      const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
      const throttled = response.status === 429 || response.status === 503;
      if (throttled) this.counters.throttled++;
      this.emit({
        method,
        path: target.display,
        status: response.status,
        resourceUnits: units,
        durationMs,
        attempt,
        throttled,
        inBatch: false,
      });
      if (response.status >= 200 && response.status < 300) {
        return { status: response.status, body: response.body as T, headers: response.headers };
      }
      if (response.status === 401 && this.tokens && sent.token && !refreshedToken) {
        // Once: the token may have been revoked or expired early. A second 401 is final.
        refreshedToken = true;
        this.tokens.invalidate(sent.token);
        this.log('info', 'Graph answered 401; retrying once with a fresh token', {
          method,
          path: target.display,
        });
        attempt--;
        this.counters.retries++;
        continue;
      }
      const error = this.errorFrom(response, method, target, retryAfterMs);
      const resendable = mayResend || provesNotApplied(response.status, retryAfterMs);
      if (error.retryable && resendable && attempt < this.retry.attempts) {
        if (throttled)
          this.log('warn', 'Graph throttled a request', {
            method,
            path: target.display,
            status: response.status,
            retryAfterMs,
          });
        await this.backoff(attempt, error, target, throttled);
        continue;
      }
      throw error;
    }
  }

  /** Adds a value that must never appear in an error or a log line of this client (e.g. a webhook clientState). */
  redact(secret: string): void {
    this.scrubber.pin(secret);
  }

  /** `logger` with every message and field scrubbed of the secrets this client knows and of secret-looking text. */
  scrubbingLogger<L extends object>(logger: L): L {
    return this.scrubber.logger(logger);
  }

  /**
   * Sends the requests through `POST /$batch` (≤ 20 per call, 2 calls at a time) and returns one
   * result per request, in the order given. Only inner requests that failed with a retryable status
   * are sent again; a failure of one never fails the others.
   */
  async batch<T = unknown>(requests: GraphRequest[]): Promise<BatchResult<T>[]> {
    const results: BatchResult<T>[] = new Array(requests.length);
    const entries: BatchEntry[] = [];
    requests.forEach((req, index) => {
      const method = req.method.toUpperCase() as GraphMethod;
      try {
        const target = this.resolve(method, req.path, req.query);
        if (!target.relative.startsWith('/') || /^https?:/i.test(target.relative)) {
          throw new GraphError({
            status: 0,
            code: 'invalidBatchUrl',
            method,
            path: target.display,
            retryable: false,
            detail: 'the URL is outside the base URL',
          });
        }
        entries.push({
          index,
          method,
          target,
          units: resourceUnitCost(method, target.relative),
          mayResend: method !== 'POST' || req.idempotent === true,
          headers: req.headers,
          body: req.body,
        });
      } catch (error) {
        results[index] = { ok: false, status: 0, error: error as GraphError };
      }
    });

    const chunks = this.chunk(entries);
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) {
        const chunk = chunks[next++]!;
        try {
          await this.runBatchChunk(chunk, results as BatchResult[]);
        } catch (error) {
          // e.g. the credential failed: every request of the chunk still gets its own result.
          const failure =
            error instanceof GraphError
              ? error
              : new GraphError(
                  {
                    status: 0,
                    code: 'batchFailed',
                    method: 'POST',
                    path: '/$batch',
                    retryable: false,
                    detail: String(error),
                  },
                  this.scrubber,
                );
          for (const entry of chunk) {
            results[entry.index] ??= {
              ok: false,
              status: failure.status,
              error: this.innerError(failure, entry),
            };
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, chunks.length) }, worker));
    return results;
  }

  /**
   * Follows `@odata.nextLink` until it is absent, yielding each page. Accepts a path relative to the
   * base URL or an absolute URL (a stored deltaLink) on the same origin; a nextLink or deltaLink on
   * another origin is refused (`foreignNextLink`) so the token never travels elsewhere.
   * `query` applies to the first request only: later pages carry Graph's own links.
   */
  async *pages<T>(
    pathOrUrl: string,
    init: { query?: GraphRequest['query']; headers?: Record<string, string> } = {},
  ): AsyncIterableIterator<GraphPage<T>> {
    let next: string | undefined = pathOrUrl;
    let first = true;
    while (next !== undefined) {
      const response: GraphResponse<Record<string, unknown>> = await this.request<Record<string, unknown>>({
        method: 'GET',
        path: next,
        ...(first && init.query ? { query: init.query } : {}),
        ...(init.headers ? { headers: init.headers } : {}),
      });
      first = false;
      const body = response.body ?? {};
      const nextLink = typeof body['@odata.nextLink'] === 'string' ? body['@odata.nextLink'] : undefined;
      const deltaLink = typeof body['@odata.deltaLink'] === 'string' ? body['@odata.deltaLink'] : undefined;
      for (const link of [nextLink, deltaLink]) {
        if (link !== undefined) this.resolve('GET', link, undefined);
      }
      const page: GraphPage<T> = { value: Array.isArray(body.value) ? (body.value as T[]) : [] };
      if (nextLink !== undefined) page.nextLink = nextLink;
      if (deltaLink !== undefined) page.deltaLink = deltaLink;
      yield page;
      next = nextLink;
    }
  }

  // ---------------------------------------------------------------------------------------------

  /** Builds the URL; refuses absolute URLs on another origin before anything is sent. */
  private resolve(method: string, path: string, query: GraphRequest['query']): Target {
    let url: URL;
    if (/^[a-z][a-z0-9+.-]*:/i.test(path)) {
      try {
        url = new URL(path);
      } catch {
        throw new GraphError({
          status: 0,
          code: 'invalidUrl',
          method,
          path: '[unparseable URL]',
          retryable: false,
        });
      }
      if (url.origin !== this.origin) {
        throw new GraphError({
          status: 0,
          code: 'foreignNextLink',
          method,
          path: `${url.origin}${url.pathname}`,
          retryable: false,
          detail: `refusing to send a request to ${url.origin}: only ${this.origin} (the configured baseUrl) receives the token`,
        });
      }
    } else {
      url = new URL(`${this.baseUrl}${path.startsWith('/') ? '' : '/'}${path}`);
      // Belt and braces: whatever the path held, the request stays on the configured origin.
      if (url.origin !== this.origin) {
        throw new GraphError({
          status: 0,
          code: 'foreignNextLink',
          method,
          path: url.origin,
          retryable: false,
        });
      }
    }
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      const pair = `${encodeQueryKey(key)}=${encodeURIComponent(String(value))}`;
      url.search = url.search ? `${url.search}&${pair}` : `?${pair}`;
    }
    const pathname =
      url.pathname === this.basePath || url.pathname.startsWith(`${this.basePath}/`)
        ? url.pathname.slice(this.basePath.length) || '/'
        : url.href;
    const names = [...new Set([...url.searchParams.keys()])];
    return {
      url: url.href,
      relative: `${pathname}${url.search}`,
      display: `${pathname}${names.length ? `?${names.join('&')}` : ''}`,
    };
  }

  /** One HTTP call: waits for the limiter, adds the token, enforces the per-attempt timeout. */
  private async send(
    method: string,
    target: Target,
    headers: Record<string, string>,
    payload: string | undefined,
    units: number,
  ): Promise<Sent> {
    await this.limiter.acquire(units);
    const token = this.tokens ? await this.tokens.token({ method, path: target.display }) : undefined;
    const started = Date.now();
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    try {
      const response = await this.fetchImpl(target.url, {
        method,
        headers: token ? { ...headers, Authorization: `Bearer ${token}` } : headers,
        ...(payload !== undefined ? { body: payload } : {}),
        signal: controller.signal,
        // A redirect could lead the Authorization header elsewhere: 3xx is an error instead.
        redirect: 'manual',
      });
      const text = await response.text();
      const responseHeaders: Record<string, string> = {};
      response.headers.forEach((value, key) => {
        responseHeaders[key.toLowerCase()] = value;
      });
      this.limiter.observe(readRateLimit(responseHeaders));
      return {
        ok: true,
        response: {
          status: response.status,
          headers: responseHeaders,
          body: parseBody(text, responseHeaders['content-type']),
        },
        durationMs: Date.now() - started,
        ...(token ? { token } : {}),
      };
    } catch (error) {
      if (error instanceof GraphError) throw error;
      const cause = (error as { cause?: { code?: string } }).cause;
      const code = cause?.code ?? (error as { code?: string }).code;
      const notSent = code !== undefined && NOT_SENT_CODES.has(code);
      return {
        ok: false,
        error: new GraphError(
          {
            status: 0,
            code: timedOut ? 'timeout' : notSent ? 'connectionRefused' : 'networkError',
            method,
            path: target.display,
            retryable: true,
            detail: timedOut
              ? `no complete answer within ${this.timeoutMs} ms; the request may have been applied`
              : notSent
                ? `could not connect (${code})`
                : `the connection failed (${code ?? (error as Error).message}); the request may have been applied`,
          },
          this.scrubber,
        ),
      };
    } finally {
      clearTimeout(timer);
    }
  }

  private async runBatchChunk(chunk: BatchEntry[], results: BatchResult[]): Promise<void> {
    let pending = chunk;
    let refreshedToken = false;
    for (let round = 1; pending.length > 0; round++) {
      const units = pending.reduce((sum, e) => sum + e.units, 0);
      const envelope = {
        requests: pending.map((e) => ({
          id: String(e.index),
          method: e.method,
          url: e.target.relative,
          ...(e.body !== undefined || e.headers
            ? {
                headers: {
                  ...(e.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
                  ...e.headers,
                },
              }
            : {}),
          ...(e.body !== undefined ? { body: e.body } : {}),
        })),
      };
      const target = this.resolve('POST', '/$batch', undefined);
      const sent = await this.send(
        'POST',
        target,
        { Accept: 'application/json', 'Content-Type': 'application/json' },
        JSON.stringify(envelope),
        units,
      );
      this.counters.requests += pending.length;
      this.counters.resourceUnits += units;
      if (round > 1) this.counters.retries += pending.length;
      const last = round >= this.retry.attempts;

      if (!sent.ok || !(sent.response.status >= 200 && sent.response.status < 300)) {
        const status = sent.ok ? sent.response.status : 0;
        if (status === 429 || status === 503) this.counters.throttled++;
        this.emit({
          method: 'POST',
          path: '/$batch',
          status,
          resourceUnits: 0,
          durationMs: sent.ok ? sent.durationMs : 0,
          attempt: round,
          throttled: status === 429 || status === 503,
          inBatch: false,
        });
        if (sent.ok && status === 401 && this.tokens && sent.token && !refreshedToken) {
          refreshedToken = true;
          this.tokens.invalidate(sent.token);
          this.counters.retries += pending.length;
          round--;
          continue;
        }
        const retryAfterMs = sent.ok ? parseRetryAfter(sent.response.headers['retry-after']) : undefined;
        const envelopeError = sent.ok
          ? this.errorFrom(sent.response, 'POST', target, retryAfterMs)
          : sent.error;
        // Throttled before processing → nothing applied; a lost answer → inner POSTs may have been applied.
        const nothingApplied = sent.ok
          ? provesNotApplied(status, retryAfterMs)
          : envelopeError.code === 'connectionRefused';
        const again: BatchEntry[] = [];
        for (const entry of pending) {
          if (envelopeError.retryable && !last && (entry.mayResend || nothingApplied)) again.push(entry);
          else results[entry.index] = { ok: false, status, error: this.innerError(envelopeError, entry) };
        }
        pending = again;
        if (pending.length > 0) {
          await this.backoff(round, envelopeError, target, status === 429 || status === 503);
        }
        continue;
      }

      this.emit({
        method: 'POST',
        path: '/$batch',
        status: sent.response.status,
        resourceUnits: 0,
        durationMs: sent.durationMs,
        attempt: round,
        throttled: false,
        inBatch: false,
      });
      const answers = new Map<string, InnerResponse>();
      const responses = (sent.response.body as { responses?: unknown } | undefined)?.responses;
      if (Array.isArray(responses)) {
        for (const r of responses as InnerResponse[])
          if (r && r.id !== undefined) answers.set(String(r.id), r);
      }
      const again: BatchEntry[] = [];
      let retryAfterMax: number | undefined;
      let anyThrottled = false;
      for (const entry of pending) {
        const answer = answers.get(String(entry.index));
        if (!answer) {
          const error = new GraphError({
            status: 0,
            code: 'missingBatchResponse',
            method: entry.method,
            path: entry.target.display,
            retryable: true,
            detail: 'the $batch answer had no response for this request; it may have been applied',
          });
          this.emit({
            method: entry.method,
            path: entry.target.display,
            status: 0,
            resourceUnits: entry.units,
            durationMs: sent.durationMs,
            attempt: round,
            throttled: false,
            inBatch: true,
          });
          if (entry.mayResend && !last) again.push(entry);
          else results[entry.index] = { ok: false, status: 0, error };
          continue;
        }
        const status = Number(answer.status);
        const headers = lowerCaseKeys(answer.headers);
        const throttled = status === 429 || status === 503;
        if (throttled) {
          this.counters.throttled++;
          anyThrottled = true;
        }
        this.emit({
          method: entry.method,
          path: entry.target.display,
          status,
          resourceUnits: entry.units,
          durationMs: sent.durationMs,
          attempt: round,
          throttled,
          inBatch: true,
        });
        if (status >= 200 && status < 300) {
          results[entry.index] = { ok: true, status, body: answer.body, headers };
          continue;
        }
        const retryAfterMs = parseRetryAfter(headers['retry-after']);
        const error = this.errorFrom(
          { status, headers, body: answer.body },
          entry.method,
          entry.target,
          retryAfterMs,
        );
        if (error.retryable && !last && (entry.mayResend || provesNotApplied(status, retryAfterMs))) {
          again.push(entry);
          if (retryAfterMs !== undefined) retryAfterMax = Math.max(retryAfterMax ?? 0, retryAfterMs);
        } else {
          results[entry.index] = { ok: false, status, error };
        }
      }
      pending = again;
      if (pending.length > 0) {
        this.log(anyThrottled ? 'warn' : 'debug', 'Graph $batch: resending the inner requests that failed', {
          count: pending.length,
          retryAfterMs: retryAfterMax,
        });
        if (retryAfterMax !== undefined) {
          // An inner Retry-After throttles the whole client, not just this batch.
          if (anyThrottled) this.limiter.pause(Date.now() + retryAfterMax);
          else await sleep(retryAfterMax);
        } else {
          await sleep(this.backoffDelay(round));
        }
      }
    }
  }

  /** Splits into `$batch` calls of ≤ 20 requests whose units also fit the budget. */
  private chunk(entries: BatchEntry[]): BatchEntry[][] {
    const chunks: BatchEntry[][] = [];
    let current: BatchEntry[] = [];
    let units = 0;
    for (const entry of entries) {
      if (
        current.length > 0 &&
        (current.length >= MAX_BATCH_SIZE || units + entry.units > this.budgetPerWindow)
      ) {
        chunks.push(current);
        current = [];
        units = 0;
      }
      current.push(entry);
      units += entry.units;
    }
    if (current.length > 0) chunks.push(current);
    return chunks;
  }

  /** Waits before the next attempt: `Retry-After` when given (pausing the whole client if throttled), else backoff. */
  private async backoff(
    attempt: number,
    error: GraphError,
    target: Target,
    throttled = false,
  ): Promise<void> {
    if (error.retryAfterMs !== undefined) {
      if (throttled) {
        // The limiter holds back every request of this client (this one included) until then.
        this.limiter.pause(Date.now() + error.retryAfterMs);
        return;
      }
      await sleep(error.retryAfterMs);
      return;
    }
    const delay = this.backoffDelay(attempt);
    this.log('debug', 'Graph request failed; retrying', {
      method: error.method,
      path: target.display,
      code: error.code,
      delayMs: delay,
    });
    await sleep(delay);
  }

  /** Exponential backoff (the `retry` package's formula) with full jitter. */
  private backoffDelay(attempt: number): number {
    const ceiling = createTimeout(attempt - 1, {
      minTimeout: this.retry.minDelayMs,
      maxTimeout: this.retry.maxDelayMs,
      factor: this.retry.factor,
      randomize: false,
    });
    return Math.round(Math.random() * ceiling);
  }

  private errorFrom(
    response: RawResponse,
    method: string,
    target: Target,
    retryAfterMs: number | undefined,
  ): GraphError {
    const parsed = readGraphErrorBody(response.body);
    const requestId =
      parsed.requestId ?? response.headers['request-id'] ?? response.headers['client-request-id'];
    return new GraphError(
      {
        status: response.status,
        code: parsed.code ?? codeForStatus(response.status),
        method,
        path: target.display,
        retryable: RETRYABLE_STATUSES.has(response.status),
        ...(requestId ? { requestId } : {}),
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        ...(parsed.message !== undefined ? { graphMessage: parsed.message } : {}),
      },
      this.scrubber,
    );
  }

  /** The envelope's failure, restated for one inner request. */
  private innerError(error: GraphError, entry: BatchEntry): GraphError {
    return new GraphError(
      {
        status: error.status,
        code: error.code,
        method: entry.method,
        path: entry.target.display,
        retryable: error.retryable,
        detail: `the $batch call failed (${error.message})`,
        ...(error.requestId ? { requestId: error.requestId } : {}),
        ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
        ...(error.graphMessage !== undefined ? { graphMessage: error.graphMessage } : {}),
      },
      this.scrubber,
    );
  }

  private emit(event: GraphRequestEvent): void {
    try {
      this.options.onRequest?.(event);
    } catch (error) {
      this.log('warn', 'Graph onRequest hook threw', { error: String(error) });
    }
  }

  private log(level: keyof GraphLogger, message: string, fields?: Record<string, unknown>): void {
    const logger = this.options.logger;
    const fn = logger?.[level];
    if (!fn) return;
    try {
      fn.call(logger, this.scrubber.scrub(message), this.scrubber.scrubFields(fields));
    } catch {
      // A broken logger must not break a request.
    }
  }
}

interface BatchEntry {
  index: number;
  method: GraphMethod;
  target: Target;
  units: number;
  mayResend: boolean;
  headers: Record<string, string> | undefined;
  body: unknown;
}

interface InnerResponse {
  id: string;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}

function lowerCaseKeys(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers ?? {})) out[key.toLowerCase()] = String(value);
  return out;
}

/** OData system query options keep their `$`; everything else is percent-encoded. */
function encodeQueryKey(key: string): string {
  return key.startsWith('$') ? `$${encodeURIComponent(key.slice(1))}` : encodeURIComponent(key);
}

function parseBody(text: string, contentType: string | undefined): unknown {
  if (text === '') return undefined;
  if (contentType?.includes('json') || /^[[{]/.test(text.trimStart())) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function readRateLimit(headers: Record<string, string>): RateLimitHeaders {
  const number = (name: string) => {
    const raw = headers[name];
    if (raw === undefined) return undefined;
    const value = Number.parseFloat(raw);
    return Number.isFinite(value) ? value : undefined;
  };
  const limit = number('ratelimit-limit');
  const remaining = number('ratelimit-remaining');
  const resetSeconds = number('ratelimit-reset');
  return {
    ...(limit !== undefined ? { limit } : {}),
    ...(remaining !== undefined ? { remaining } : {}),
    ...(resetSeconds !== undefined ? { resetSeconds } : {}),
  };
}
