import type { TokenProvider } from './auth.js';
import { codeForStatus, GraphError, RETRYABLE_STATUSES, readGraphErrorBody } from './errors.js';
import type { RateLimitHeaders, ResourceUnitLimiter } from './limiter.js';
import type { SecretScrubber } from './redact.js';
import type { Target } from './url.js';

/** Network error codes meaning the request never reached the server (safe to resend any request). */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

export interface RawResponse {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: unknown;
}

/** One HTTP call's outcome: an answer (any status), or the network error that stood in its way. */
export type Sent =
  | { ok: true; response: RawResponse; durationMs: number; token?: string }
  | { ok: false; error: GraphError };

export interface TransportOptions {
  limiter: ResourceUnitLimiter;
  tokens: TokenProvider | undefined;
  scrubber: SecretScrubber;
  fetch: typeof fetch;
  timeoutMs: number;
}

/** One HTTP call at a time: pacing, the token, the per-attempt timeout; no retries (see `retry.ts`). */
export class Transport {
  constructor(private readonly options: TransportOptions) {}

  get tokens(): TokenProvider | undefined {
    return this.options.tokens;
  }

  /** Waits for the limiter, adds the token, enforces the per-attempt timeout. */
  async send(
    method: string,
    target: Target,
    headers: Record<string, string>,
    payload: string | undefined,
    units: number,
  ): Promise<Sent> {
    const { limiter, tokens, timeoutMs } = this.options;
    await limiter.acquire(units);
    const token = tokens ? await tokens.token({ method, path: target.display }) : undefined;
    const started = Date.now();
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    try {
      const response = await this.options.fetch(target.url, {
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
      limiter.observe(readRateLimit(responseHeaders));
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
      return { ok: false, error: this.networkError(error, method, target, timedOut) };
    } finally {
      clearTimeout(timer);
    }
  }

  /** A non-2xx answer as a `GraphError` (Graph's code, message and request id; scrubbed). */
  errorFrom(
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
      this.options.scrubber,
    );
  }

  private networkError(error: unknown, method: string, target: Target, timedOut: boolean): GraphError {
    const cause = (error as { cause?: { code?: string } }).cause;
    const code = cause?.code ?? (error as { code?: string }).code;
    const notSent = code !== undefined && NOT_SENT_CODES.has(code);
    return new GraphError(
      {
        status: 0,
        code: timedOut ? 'timeout' : notSent ? 'connectionRefused' : 'networkError',
        method,
        path: target.display,
        retryable: true,
        detail: timedOut
          ? `no complete answer within ${this.options.timeoutMs} ms; the request may have been applied`
          : notSent
            ? `could not connect (${code})`
            : `the connection failed (${code ?? (error as Error).message}); the request may have been applied`,
      },
      this.options.scrubber,
    );
  }
}

export function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}

export function lowerCaseKeys(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers ?? {})) out[key.toLowerCase()] = String(value);
  return out;
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
