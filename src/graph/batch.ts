import { resourceUnitCost } from './cost.js';
import { GraphError, parseRetryAfter } from './errors.js';
import type { SecretScrubber } from './redact.js';
import { mayResend, type RetryPolicy } from './retry.js';
import { lowerCaseKeys, type RawResponse, type Sent, type Transport } from './transport.js';
import type {
  BatchResult,
  GraphLogger,
  GraphMethod,
  GraphRequest,
  GraphRequestEvent,
  GraphStats,
} from './types.js';
import type { GraphUrl, Target } from './url.js';

/** Graph's `$batch` limit. */
export const MAX_BATCH_SIZE = 20;
/** `$batch` HTTP calls of one `batch()` in flight at once. */
const BATCH_CONCURRENCY = 2;

/** What `$batch` shares with the rest of the gateway. */
export interface BatchParts {
  url: GraphUrl;
  transport: Transport;
  retry: RetryPolicy;
  scrubber: SecretScrubber;
  counters: GraphStats;
  /** Resource units one `$batch` call may cost (the budget's burst): a call never asks for more. */
  unitsPerCall: number;
  emit(event: GraphRequestEvent): void;
  log(level: keyof GraphLogger, message: string, fields?: Record<string, unknown>): void;
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

/** What one envelope's answers left to send again, and how long to wait first. */
interface Leftover {
  again: BatchEntry[];
  retryAfterMs: number | undefined;
  throttled: boolean;
}

/**
 * Sends requests through `POST /$batch` (≤ 20 per call, 2 calls at a time) and returns one result per
 * request, in the order given. Only inner requests that failed with a retryable status are sent again, under
 * the gateway's one retry policy; a failure of one never fails the others.
 */
export class BatchSender {
  constructor(private readonly parts: BatchParts) {}

  async send<T>(requests: GraphRequest[]): Promise<BatchResult<T>[]> {
    const results: BatchResult[] = new Array(requests.length);
    const chunks = this.chunk(this.entries(requests, results));
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) {
        const chunk = chunks[next++]!;
        try {
          await this.runChunk(chunk, results);
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
                  this.parts.scrubber,
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
    return results as BatchResult<T>[];
  }

  /** Resolves each request; one whose URL cannot go into a `$batch` gets its failed result at once. */
  private entries(requests: GraphRequest[], results: BatchResult[]): BatchEntry[] {
    const entries: BatchEntry[] = [];
    requests.forEach((req, index) => {
      const method = req.method.toUpperCase() as GraphMethod;
      try {
        const target = this.parts.url.resolve(method, req.path, req.query);
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
          mayResend: mayResend(method, req.idempotent),
          headers: req.headers,
          body: req.body,
        });
      } catch (error) {
        results[index] = { ok: false, status: 0, error: error as GraphError };
      }
    });
    return entries;
  }

  /** Splits into `$batch` calls of ≤ 20 requests whose units also fit the budget's burst. */
  private chunk(entries: BatchEntry[]): BatchEntry[][] {
    const chunks: BatchEntry[][] = [];
    let current: BatchEntry[] = [];
    let units = 0;
    for (const entry of entries) {
      if (
        current.length > 0 &&
        (current.length >= MAX_BATCH_SIZE || units + entry.units > this.parts.unitsPerCall)
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

  /** One chunk: send, settle each answer, send again what the retry policy allows, until nothing is left. */
  private async runChunk(chunk: BatchEntry[], results: BatchResult[]): Promise<void> {
    const { counters, transport, retry } = this.parts;
    let pending = chunk;
    let refreshedToken = false;
    for (let round = 1; pending.length > 0; round++) {
      const units = pending.reduce((sum, e) => sum + e.units, 0);
      const target = this.parts.url.resolve('POST', '/$batch', undefined);
      const sent = await transport.send(
        'POST',
        target,
        { Accept: 'application/json', 'Content-Type': 'application/json' },
        JSON.stringify(envelope(pending)),
        units,
      );
      counters.requests += pending.length;
      counters.resourceUnits += units;
      if (round > 1) counters.retries += pending.length;

      if (!sent.ok || !(sent.response.status >= 200 && sent.response.status < 300)) {
        if (sent.ok && sent.response.status === 401 && transport.tokens && sent.token && !refreshedToken) {
          // Once, as for a single request: the token may have been revoked or expired early.
          this.emitEnvelope(sent, round);
          refreshedToken = true;
          transport.tokens.invalidate(sent.token);
          counters.retries += pending.length;
          round--;
          continue;
        }
        const { error, again } = this.settleEnvelopeFailure(sent, target, pending, round, results);
        pending = again;
        if (pending.length > 0) {
          const onBackoff = (delayMs: number) =>
            this.parts.log('debug', 'Graph request failed; retrying', {
              method: error.method,
              path: target.display,
              code: error.code,
              delayMs,
            });
          await retry.wait(
            round,
            { retryAfterMs: error.retryAfterMs, throttled: isThrottled(error.status) },
            onBackoff,
          );
        }
        continue;
      }

      this.emitEnvelope(sent, round);
      const leftover = this.settleAnswers(sent.response, sent.durationMs, pending, round, results);
      pending = leftover.again;
      if (pending.length > 0) {
        this.parts.log(
          leftover.throttled ? 'warn' : 'debug',
          'Graph $batch: resending the inner requests that failed',
          {
            count: pending.length,
            retryAfterMs: leftover.retryAfterMs,
          },
        );
        // An inner Retry-After throttles the whole client, not just this batch.
        await retry.wait(round, leftover);
      }
    }
  }

  /** The envelope itself failed (no answer, or not 2xx): every pending request shares its fate. */
  private settleEnvelopeFailure(
    sent: Sent,
    target: Target,
    pending: BatchEntry[],
    round: number,
    results: BatchResult[],
  ): { error: GraphError; again: BatchEntry[] } {
    const status = sent.ok ? sent.response.status : 0;
    if (isThrottled(status)) this.parts.counters.throttled++;
    if (sent.ok) this.emitEnvelope(sent, round);
    else this.emitEnvelopeLost(round);
    const error = sent.ok
      ? this.parts.transport.errorFrom(
          sent.response,
          'POST',
          target,
          parseRetryAfter(sent.response.headers['retry-after']),
        )
      : sent.error;
    // Throttled before processing → nothing applied; a lost answer → inner POSTs may have been applied.
    const again: BatchEntry[] = [];
    for (const entry of pending) {
      if (this.parts.retry.allows(error, round, entry.mayResend)) again.push(entry);
      else results[entry.index] = { ok: false, status, error: this.innerError(error, entry) };
    }
    return { error, again };
  }

  /** Matches the answers to the pending requests by id, whatever their order. */
  private settleAnswers(
    response: RawResponse,
    durationMs: number,
    pending: BatchEntry[],
    round: number,
    results: BatchResult[],
  ): Leftover {
    const { counters, retry } = this.parts;
    const answers = new Map<string, InnerResponse>();
    const responses = (response.body as { responses?: unknown } | undefined)?.responses;
    if (Array.isArray(responses)) {
      for (const r of responses as InnerResponse[]) if (r && r.id !== undefined) answers.set(String(r.id), r);
    }
    const leftover: Leftover = { again: [], retryAfterMs: undefined, throttled: false };
    for (const entry of pending) {
      const answer = answers.get(String(entry.index));
      const status = answer ? Number(answer.status) : 0;
      const throttled = isThrottled(status);
      if (throttled) {
        counters.throttled++;
        leftover.throttled = true;
      }
      this.parts.emit({
        method: entry.method,
        path: entry.target.display,
        status,
        resourceUnits: entry.units,
        durationMs,
        attempt: round,
        throttled,
        inBatch: true,
      });
      if (answer && status >= 200 && status < 300) {
        results[entry.index] = {
          ok: true,
          status,
          body: answer.body,
          headers: lowerCaseKeys(answer.headers),
        };
        continue;
      }
      const error = answer ? this.answerError(answer, entry) : missingAnswer(entry);
      if (retry.allows(error, round, entry.mayResend)) {
        leftover.again.push(entry);
        if (error.retryAfterMs !== undefined) {
          leftover.retryAfterMs = Math.max(leftover.retryAfterMs ?? 0, error.retryAfterMs);
        }
      } else {
        results[entry.index] = { ok: false, status, error };
      }
    }
    return leftover;
  }

  private answerError(answer: InnerResponse, entry: BatchEntry): GraphError {
    const status = Number(answer.status);
    const headers = lowerCaseKeys(answer.headers);
    return this.parts.transport.errorFrom(
      { status, headers, body: answer.body },
      entry.method,
      entry.target,
      parseRetryAfter(headers['retry-after']),
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
      this.parts.scrubber,
    );
  }

  /** The envelope as metrics see it: free (its inner requests carry the units). */
  private emitEnvelope(sent: Sent & { ok: true }, round: number): void {
    const status = sent.response.status;
    this.parts.emit({
      method: 'POST',
      path: '/$batch',
      status,
      resourceUnits: 0,
      durationMs: sent.durationMs,
      attempt: round,
      throttled: isThrottled(status),
      inBatch: false,
    });
  }

  private emitEnvelopeLost(round: number): void {
    this.parts.emit({
      method: 'POST',
      path: '/$batch',
      status: 0,
      resourceUnits: 0,
      durationMs: 0,
      attempt: round,
      throttled: false,
      inBatch: false,
    });
  }
}

function envelope(pending: BatchEntry[]): { requests: unknown[] } {
  return {
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
}

function missingAnswer(entry: BatchEntry): GraphError {
  return new GraphError({
    status: 0,
    code: 'missingBatchResponse',
    method: entry.method,
    path: entry.target.display,
    retryable: true,
    detail: 'the $batch answer had no response for this request; it may have been applied',
  });
}

function isThrottled(status: number): boolean {
  return status === 429 || status === 503;
}
