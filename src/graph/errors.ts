import { SharePointSyncError } from '../errors/index.js';
import { defaultScrubber, type SecretScrubber } from './redact.js';

export interface GraphErrorInit {
  status: number;
  code: string;
  method: string;
  /** The request path without query values (see `displayPath`). */
  path: string;
  retryable: boolean;
  requestId?: string;
  retryAfterMs?: number;
  graphMessage?: string;
  /** Used to build the message when `graphMessage` is absent (network errors, credential failures). */
  detail?: string;
}

/**
 * Every failure the gateway reports. `status` is 0 when no HTTP answer arrived (network error,
 * timeout, credential failure, refused URL). The message never contains a token or a secret.
 */
export class GraphError extends SharePointSyncError {
  override name = 'GraphError';
  status: number;
  /** Graph's error code (`itemNotFound`, `tooManyRequests`, …), or the gateway's own when no answer arrived (docs/errors.md). */
  code: string;
  requestId?: string;
  method: string;
  path: string;
  retryable: boolean;
  retryAfterMs?: number;
  graphMessage?: string;

  constructor(init: GraphErrorInit, scrubber: SecretScrubber = defaultScrubber) {
    const graphMessage = init.graphMessage === undefined ? undefined : scrubber.scrub(init.graphMessage);
    const what = graphMessage ?? (init.detail === undefined ? undefined : scrubber.scrub(init.detail));
    // Everything that came from elsewhere is scrubbed, not only the message: Graph's body fills code and
    // request id too (the path is ours, query values already removed), and the stack is built from the message.
    const code = scrubber.scrub(init.code);
    const requestId = init.requestId === undefined ? undefined : scrubber.scrub(init.requestId);
    const status = init.status ? `${init.status} ` : '';
    super(
      `Microsoft Graph ${init.method} ${init.path} failed: ${status}${code}${what ? ` - ${what}` : ''}` +
        `${requestId ? ` (request-id ${requestId})` : ''}`,
    );
    this.status = init.status;
    this.code = code;
    this.method = init.method;
    this.path = init.path;
    this.retryable = init.retryable;
    if (requestId !== undefined) this.requestId = requestId;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
    if (graphMessage !== undefined) this.graphMessage = graphMessage;
  }
}

/** Statuses worth sending again: timeout, throttling, unavailable, gateway timeout. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 503, 504]);

/**
 * Statuses that prove the request was not applied, so even a non-idempotent POST may be resent:
 * a 429, or a 503 that carries Retry-After (SharePoint's throttling answer).
 */
export function provesNotApplied(status: number, retryAfterMs: number | undefined): boolean {
  return status === 429 || (status === 503 && retryAfterMs !== undefined);
}

/**
 * `Retry-After` as milliseconds: delta-seconds (possibly fractional) or an HTTP date.
 * Undefined when absent or unparseable.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Reads `{ error: { code, message, innerError: { 'request-id' } } }`, Graph's error body. */
export function readGraphErrorBody(body: unknown): { code?: string; message?: string; requestId?: string } {
  if (!body || typeof body !== 'object') return {};
  const error = (body as { error?: unknown }).error;
  if (!error || typeof error !== 'object') return {};
  const e = error as { code?: unknown; message?: unknown; innerError?: unknown; innererror?: unknown };
  const inner = (e.innerError ?? e.innererror) as Record<string, unknown> | undefined;
  const requestId = inner && typeof inner['request-id'] === 'string' ? inner['request-id'] : undefined;
  return {
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.message === 'string' ? { message: e.message } : {}),
    ...(requestId ? { requestId } : {}),
  };
}

/** A code for an HTTP status when the body names none. */
export function codeForStatus(status: number): string {
  switch (status) {
    case 400:
      return 'invalidRequest';
    case 401:
      return 'unauthenticated';
    case 403:
      return 'accessDenied';
    case 404:
      return 'itemNotFound';
    case 409:
      return 'conflict';
    case 410:
      return 'resyncRequired';
    case 412:
      return 'preconditionFailed';
    case 429:
      return 'tooManyRequests';
    case 503:
      return 'serviceNotAvailable';
    case 504:
      return 'gatewayTimeout';
    default:
      return status >= 500
        ? 'generalException'
        : status >= 300 && status < 400
          ? 'unexpectedRedirect'
          : 'httpError';
  }
}
