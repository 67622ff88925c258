import { TokenProvider } from './auth.js';
import { BatchSender } from './batch.js';
import { resourceUnitCost } from './cost.js';
import { type GraphError, parseRetryAfter } from './errors.js';
import { type BudgetFigures, limiterFromBudget, type ResourceUnitLimiter } from './limiter.js';
import { followPages } from './paging.js';
import { SecretScrubber, secretsOf } from './redact.js';
import { mayResend, RetryPolicy, retrySettings } from './retry.js';
import { hasHeader, Transport } from './transport.js';
import type {
  BatchResult,
  GraphClientOptions,
  GraphLogger,
  GraphMethod,
  GraphPage,
  GraphRequest,
  GraphRequestEvent,
  GraphRequestInit,
  GraphResponse,
  GraphStats,
} from './types.js';
import { GraphUrl, type Target } from './url.js';

const DEFAULT_SCOPES = ['https://graph.microsoft.com/.default'];

/**
 * The only code that speaks HTTP to Microsoft Graph: the facade over the URL rule (`url.ts`), one HTTP call
 * (`transport.ts`), the one retry policy (`retry.ts`), `$batch` (`batch.ts`) and paging (`paging.ts`).
 */
export class GraphClient {
  readonly baseUrl: string;
  /** False in clouds without list-item delta: loads read the whole list, refreshes read it again. */
  readonly supportsListItemDelta: boolean;
  private readonly url: GraphUrl;
  private readonly scrubber = new SecretScrubber();
  private readonly transport: Transport;
  private readonly retry: RetryPolicy;
  private readonly batcher: BatchSender;
  private readonly limiter: ResourceUnitLimiter;
  private readonly counters: GraphStats = { requests: 0, resourceUnits: 0, throttled: 0, retries: 0 };

  constructor(private readonly options: GraphClientOptions = {}) {
    this.url = new GraphUrl(options.baseUrl);
    this.baseUrl = this.url.baseUrl;
    this.supportsListItemDelta = options.listItemDelta ?? this.url.hasListItemDelta;
    for (const secret of [...(options.secrets ?? []), ...secretsOf(options.credential)]) {
      this.scrubber.pin(secret);
    }
    const tokens = options.credential
      ? new TokenProvider(options.credential, options.scopes ?? DEFAULT_SCOPES, this.scrubber)
      : undefined;
    const limiter = options.limiter ?? limiterFromBudget(options.budget);
    this.limiter = limiter;
    this.transport = new Transport({
      limiter,
      tokens,
      scrubber: this.scrubber,
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
      timeoutMs: options.timeoutMs ?? 30_000,
    });
    this.retry = new RetryPolicy(retrySettings(options.retry), limiter);
    this.batcher = new BatchSender({
      url: this.url,
      transport: this.transport,
      retry: this.retry,
      scrubber: this.scrubber,
      counters: this.counters,
      // The most the bucket holds at once: a larger call would wait for a full bucket and leave it owing.
      unitsPerCall: limiter.burst,
      emit: (event) => this.emit(event),
      log: (level, message, fields) => this.log(level, message, fields),
    });
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
    const target = this.url.resolve(method, req.path, req.query);
    const units = resourceUnitCost(method, target.relative);
    const resendable = mayResend(method, req.idempotent);
    const { headers, payload } = encodeBody(req);
    const event = { method, path: target.display, resourceUnits: units, inBatch: false };
    let refreshedToken = false;
    for (let attempt = 1; ; attempt++) {
      const sent = await this.transport.send(method, target, headers, payload, units);
      this.counters.requests++;
      this.counters.resourceUnits += units;
      if (attempt > 1) this.counters.retries++;
      if (!sent.ok) {
        this.emit({ ...event, status: 0, durationMs: 0, attempt, throttled: false });
        if (!this.retry.allows(sent.error, attempt, resendable)) throw sent.error;
        await this.wait(attempt, sent.error, target, false);
        continue;
      }
      const { response, durationMs } = sent;
      const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
      const throttled = response.status === 429 || response.status === 503;
      if (throttled) this.counters.throttled++;
      this.emit({ ...event, status: response.status, durationMs, attempt, throttled });
      if (response.status >= 200 && response.status < 300) {
        return { status: response.status, body: response.body as T, headers: response.headers };
      }
      const tokens = this.transport.tokens;
      if (response.status === 401 && tokens && sent.token && !refreshedToken) {
        // Once: the token may have been revoked or expired early. A second 401 is final.
        refreshedToken = true;
        tokens.invalidate(sent.token);
        this.log('info', 'Graph answered 401; retrying once with a fresh token', {
          method,
          path: target.display,
        });
        attempt--;
        this.counters.retries++;
        continue;
      }
      const error = this.transport.errorFrom(response, method, target, retryAfterMs);
      if (!this.retry.allows(error, attempt, resendable)) throw error;
      if (throttled) {
        this.log('warn', 'Graph throttled a request', {
          method,
          path: target.display,
          status: response.status,
          retryAfterMs,
        });
      }
      await this.wait(attempt, error, target, throttled);
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
  batch<T = unknown>(requests: GraphRequest[]): Promise<BatchResult<T>[]> {
    return this.batcher.send<T>(requests);
  }

  /**
   * Follows `@odata.nextLink` until it is absent, yielding each page. Accepts a path relative to the
   * base URL or an absolute URL (a stored deltaLink) on the same origin; a nextLink or deltaLink on
   * another origin is refused (`foreignNextLink`) so the token never travels elsewhere.
   * `query` applies to the first request only: later pages carry Graph's own links.
   */
  pages<T>(
    pathOrUrl: string,
    init: { query?: GraphRequest['query']; headers?: Record<string, string> } = {},
  ): AsyncIterableIterator<GraphPage<T>> {
    return followPages<T>((req) => this.request<Record<string, unknown>>(req), this.url, pathOrUrl, init);
  }

  // ---------------------------------------------------------------------------------------------

  /** Waits before the next attempt under the retry policy, logging a plain backoff. */
  private wait(attempt: number, error: GraphError, target: Target, throttled: boolean): Promise<void> {
    return this.retry.wait(attempt, { retryAfterMs: error.retryAfterMs, throttled }, (delayMs) =>
      this.log('debug', 'Graph request failed; retrying', {
        method: error.method,
        path: target.display,
        code: error.code,
        delayMs,
      }),
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

/** Headers and payload of one request: JSON unless the caller sent a string or named a content type. */
function encodeBody(req: GraphRequest): { headers: Record<string, string>; payload: string | undefined } {
  const headers: Record<string, string> = { Accept: 'application/json', ...req.headers };
  if (req.body === undefined) return { headers, payload: undefined };
  const payload = typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
  if (!hasHeader(headers, 'content-type')) headers['Content-Type'] = 'application/json';
  return { headers, payload };
}
