import { createTimeout } from 'retry';
import { type GraphError, provesNotApplied } from './errors.js';
import type { ResourceUnitLimiter } from './limiter.js';
import type { GraphMethod } from './types.js';

export interface RetrySettings {
  /** Tries in all, the first counts. */
  attempts: number;
  minDelayMs: number;
  maxDelayMs: number;
  factor: number;
}

export function retrySettings(options: Partial<RetrySettings> = {}): RetrySettings {
  return {
    attempts: Math.max(1, options.attempts ?? 6),
    minDelayMs: options.minDelayMs ?? 500,
    maxDelayMs: options.maxDelayMs ?? 60_000,
    factor: options.factor ?? 2,
  };
}

/**
 * A request may be sent again after a lost answer only when sending it twice does no harm: every method but
 * POST, and a POST its caller marks idempotent.
 */
export function mayResend(method: GraphMethod, idempotent: boolean | undefined): boolean {
  return method !== 'POST' || idempotent === true;
}

/**
 * Whether `error` proves the request was not applied, so that even a plain POST may be resent: a refused
 * connection (nothing arrived), a 429, or a 503 with `Retry-After` (SharePoint's throttling answer).
 */
export function provedNotApplied(error: GraphError): boolean {
  return error.status === 0
    ? error.code === 'connectionRefused'
    : provesNotApplied(error.status, error.retryAfterMs);
}

/**
 * The one retry policy of the gateway, for single requests, `$batch` envelopes and the inner requests of a
 * `$batch` alike: which failures are tried again, how many times, and how long to wait before.
 */
export class RetryPolicy {
  constructor(
    readonly settings: RetrySettings,
    private readonly limiter: ResourceUnitLimiter,
  ) {}

  /**
   * Whether to try again after `error` met try number `attempt`: the error is retryable, a try is left,
   * and resending does no harm (`resendable`, see `mayResend`) or the error proves nothing was applied.
   */
  allows(error: GraphError, attempt: number, resendable: boolean): boolean {
    return error.retryable && attempt < this.settings.attempts && (resendable || provedNotApplied(error));
  }

  /**
   * Waits before try `attempt + 1`: `Retry-After` when given — a throttled answer pauses every request of the
   * limiter (this one included) instead — else exponential backoff, reported to `onBackoff` first.
   */
  async wait(
    attempt: number,
    retry: { retryAfterMs: number | undefined; throttled: boolean },
    onBackoff?: (delayMs: number) => void,
  ): Promise<void> {
    if (retry.retryAfterMs !== undefined) {
      if (retry.throttled) {
        this.limiter.pause(Date.now() + retry.retryAfterMs);
        return;
      }
      await sleep(retry.retryAfterMs);
      return;
    }
    const delay = this.delay(attempt);
    onBackoff?.(delay);
    await sleep(delay);
  }

  /** Exponential backoff (the `retry` package's formula) with full jitter. */
  delay(attempt: number): number {
    const ceiling = createTimeout(attempt - 1, {
      minTimeout: this.settings.minDelayMs,
      maxTimeout: this.settings.maxDelayMs,
      factor: this.settings.factor,
      randomize: false,
    });
    return Math.round(Math.random() * ceiling);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
