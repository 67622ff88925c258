import type { ResourceBudget } from '../budget.js';
import { emulatorCost } from '../cost.js';
import { badRequest, faultError, GraphErrorResponse, graphErrorBody } from '../errors.js';
import type { FaultRegistry } from '../faults.js';
import { FilterSyntaxError } from '../filter.js';
import type { SeededRandom } from '../random.js';
import type { EmulatorState } from '../store/state.js';
import type { SubscriptionService } from '../subscriptions.js';
import type { EmulatorRequest, EmulatorResponse, RequestLogEntry } from '../types.js';
import { type Answer, json, lowerCaseKeys, methodNotAllowed, odataQuery, type Parsed } from './request.js';
import type { DispatchSettings, RouteContext } from './route.js';
import { matchRoute, ROUTES } from './routes.js';

/**
 * The transport-free Graph: one request in, one answer out. The msw handlers and the loopback server both
 * call `handle`; faults, budget, latency and the log live here, the routes in `routes.ts` (as msw does it).
 */
export class Dispatcher {
  readonly log: RequestLogEntry[] = [];
  private batchCounter = 0;

  constructor(
    private readonly state: EmulatorState,
    private readonly faults: FaultRegistry,
    private readonly budget: ResourceBudget,
    private readonly subscriptions: SubscriptionService,
    private readonly random: SeededRandom,
    private readonly settings: DispatchSettings,
    private readonly now: () => number,
  ) {}

  async handle(request: EmulatorRequest): Promise<EmulatorResponse> {
    const started = performance.now();
    const parsed = this.parse(request);
    if (!parsed) return this.toResponse(this.invalidPath(request));
    const { perRequestMs, perItemMs } = this.settings.latency;
    await pauseUntil(started + perRequestMs);
    const effects = this.faults.evaluate(parsed.method, parsed.path, 'request');
    await pauseUntil(performance.now() + effects.latencyMs);
    const entry = this.logEntry(parsed, false, effects.description);
    if (effects.drop) return { drop: true };
    if (effects.status !== undefined) {
      const answer = this.errorAnswer(faultError(effects.status, effects.retryAfterSeconds));
      entry.status = answer.status;
      entry.throttled = answer.status === 429 || answer.status === 503;
      // A 429 of another limit than the resource-unit budget carries no RateLimit headers, "to avoid
      // confusion" (how-to-avoid-getting-throttled-or-blocked-in-sharepoint-online.md, RateLimit headers).
      return this.toResponse(answer, answer.status !== 429);
    }
    let answer: Answer;
    try {
      if (request.body !== undefined && request.body !== '') {
        try {
          parsed.body = JSON.parse(request.body);
        } catch {
          throw badRequest('The request body is not valid JSON.');
        }
      }
      const envelope = ROUTES.some(
        (r) => r.envelope && r.path === parsed.path && r.methods[parsed.method as 'POST'],
      );
      answer = envelope ? await this.route(parsed, false) : await this.charged(parsed, entry, false);
    } catch (error) {
      answer = this.errorAnswer(error);
    }
    entry.status = answer.status;
    // The latency model: the answer leaves after the fixed time plus the time per list item it carries.
    await pauseUntil(started + perRequestMs + perItemMs * (answer.items ?? 0));
    if (effects.lostResponse) return { drop: true };
    return this.toResponse(answer);
  }

  /** The request below `/v1.0`, or undefined when it is outside `/v1.0` or its path does not decode. */
  private parse(request: EmulatorRequest): Parsed | undefined {
    const url = new URL(request.url);
    const version = /^(.*?)\/v1\.0(\/.*)?$/.exec(url.pathname);
    if (!version) return undefined;
    let path: string;
    try {
      path = decodeURIComponent(version[2] ?? '/');
    } catch {
      return undefined;
    }
    return {
      method: request.method.toUpperCase(),
      path,
      query: odataQuery(url.searchParams),
      rawQuery: url.search.replace(/^\?/, ''),
      headers: lowerCaseKeys(request.headers),
      body: undefined,
      base: `${url.origin}${version[1]}/v1.0`,
    };
  }

  /** Graph serves `/v1.0` (and `/beta`); anything else, or a path that does not decode, is a 400 as there. */
  private invalidPath(request: EmulatorRequest): Answer {
    const url = new URL(request.url);
    const version = /^(.*?)\/v1\.0(\/.*)?$/.exec(url.pathname);
    const shown = url.pathname.split('/').filter(Boolean)[0] ?? '';
    this.log.push({
      at: this.now(),
      method: request.method.toUpperCase(),
      path: url.pathname,
      query: url.search.replace(/^\?/, ''),
      status: 400,
      resourceUnits: 0,
      inBatch: false,
      throttled: false,
    });
    return this.errorAnswer(
      badRequest(version ? `Invalid request path '${url.pathname}'.` : `Invalid version: ${shown}`),
    );
  }

  private logEntry(
    parsed: Parsed,
    inBatch: boolean,
    fault: string | undefined,
    batchId?: string,
  ): RequestLogEntry {
    const entry: RequestLogEntry = {
      at: this.now(),
      method: parsed.method,
      path: parsed.path,
      query: parsed.rawQuery,
      status: 0,
      resourceUnits: 0,
      inBatch,
      ...(batchId ? { batchId } : {}),
      throttled: false,
      ...(fault ? { fault } : {}),
    };
    this.log.push(entry);
    return entry;
  }

  private toResponse(answer: Answer, rateLimit = true): EmulatorResponse {
    const headers = {
      'request-id': this.random.guid(),
      ...(rateLimit ? this.budget.headers() : {}),
      ...answer.headers,
    };
    if (answer.text !== undefined)
      return {
        status: answer.status,
        headers: { ...headers, 'Content-Type': 'text/plain' },
        body: answer.text,
      };
    if (answer.body === undefined) return { status: answer.status, headers };
    return {
      status: answer.status,
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify(answer.body),
    };
  }

  private errorAnswer(error: unknown): Answer {
    if (error instanceof FilterSyntaxError) error = badRequest(`Invalid filter clause: ${error.message}`);
    const known = error instanceof GraphErrorResponse ? error : undefined;
    return json(
      known?.status ?? 500,
      graphErrorBody(
        known?.code ?? 'generalException',
        known?.message ?? String(error),
        this.random.guid(),
        this.random.guid(),
        new Date(this.now()).toISOString(),
        known?.innerCode,
      ),
      known?.headers ?? {},
    );
  }

  /** Charges the request's resource units, then routes it; a spent budget answers 429 with Retry-After. */
  private async charged(parsed: Parsed, entry: RequestLogEntry, inBatch: boolean): Promise<Answer> {
    const units = emulatorCost({ method: parsed.method, path: parsed.path, query: parsed.query });
    entry.resourceUnits = units;
    const charge = this.budget.charge(units);
    if (charge.throttled) {
      entry.throttled = true;
      // "The `Retry-After` matches the `RateLimit-Reset`", and nothing remains
      // (how-to-avoid-getting-throttled-or-blocked-in-sharepoint-online.md, RateLimit headers).
      throw faultError(429, charge.retryAfterSeconds, {
        'RateLimit-Limit': String(this.budget.limit),
        'RateLimit-Remaining': '0',
        'RateLimit-Reset': String(charge.retryAfterSeconds),
      });
    }
    return this.route(parsed, inBatch);
  }

  private async route(parsed: Parsed, inBatch: boolean): Promise<Answer> {
    const { route, params } = matchRoute(this.state, parsed.path, inBatch);
    const handler = route.methods[parsed.method as keyof typeof route.methods];
    if (!handler) throw methodNotAllowed();
    const context = {
      request: parsed,
      state: this.state,
      subscriptions: this.subscriptions,
      random: this.random,
      settings: this.settings,
      now: this.now,
      batch: {
        newId: () => `batch-${++this.batchCounter}`,
        inner: (raw: Record<string, unknown>, batchId: string) => this.inner(parsed, raw, batchId),
      },
      ...params,
    } as RouteContext;
    return handler(context);
  }

  /** One request inside `$batch`: faulted, charged and logged on its own; it never drops the envelope. */
  private async inner(outer: Parsed, raw: Record<string, unknown>, batchId: string): Promise<Answer> {
    const method = String(raw.method ?? 'GET').toUpperCase();
    const relative = String(raw.url ?? '');
    const url = new URL(relative.startsWith('/') ? `${outer.base}${relative}` : `${outer.base}/${relative}`);
    const parsed: Parsed = {
      method,
      path: decodeURIComponent(url.pathname.slice(url.pathname.indexOf('/v1.0') + 5)) || '/',
      query: odataQuery(url.searchParams),
      rawQuery: url.search.replace(/^\?/, ''),
      headers: lowerCaseKeys((raw.headers as Record<string, string>) ?? {}),
      body: raw.body,
      base: outer.base,
    };
    const effects = this.faults.evaluate(method, parsed.path, 'inner');
    const entry = this.logEntry(parsed, true, effects.description, batchId);
    let answer: Answer;
    await pauseUntil(performance.now() + effects.latencyMs);
    if (effects.status !== undefined) {
      answer = this.errorAnswer(faultError(effects.status, effects.retryAfterSeconds));
      entry.throttled = answer.status === 429 || answer.status === 503;
    } else if (effects.drop) {
      answer = this.errorAnswer(faultError(504));
    } else {
      try {
        answer = await this.charged(parsed, entry, true);
      } catch (error) {
        answer = this.errorAnswer(error);
      }
      if (effects.lostResponse) answer = this.errorAnswer(faultError(504));
    }
    entry.status = answer.status;
    return answer;
  }
}

/**
 * Waits until `performance.now()` reaches `deadline`. Timers may fire a little early against this clock, so
 * it waits again until the time has really passed: a latency is never shorter than asked.
 */
async function pauseUntil(deadline: number): Promise<void> {
  for (let left = deadline - performance.now(); left > 0; left = deadline - performance.now()) {
    await new Promise((resolve) => setTimeout(resolve, Math.ceil(left)));
  }
}
