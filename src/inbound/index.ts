import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cache, LoadResult } from '../cache/index.js';
import { listFor, type SyncContext } from '../context.js';
import { GraphError } from '../graph/index.js';
import type { ListSchema } from '../schema/index.js';
import { execute, rows } from '../store/db.js';
import * as sql from '../store/sql.js';

export {
  type Conflict,
  type ConflictChoice,
  ConflictNotFoundError,
  Conflicts,
  pendingLocalHandler,
} from './conflicts.js';

/** Graph keeps a list subscription at most 42,300 minutes (just under 30 days) and refuses longer ones. */
export const MAX_SUBSCRIPTION_MINUTES = 42_300;

export interface InboundOptions {
  /** Poll every list's deltaLink on this interval (the safety net under webhooks). Default 60; 0 disables. */
  pollIntervalSeconds?: number;
}

export interface WebhookOptions {
  /** Public base URL of this application (`SHAREPOINT_WEBHOOK_BASE_URL`), e.g. `https://crm.example.com`. */
  baseUrl?: string;
  /** Path the handler is mounted on. Default `/sharepoint/webhook`. */
  path?: string;
  /**
   * Shared secret Graph echoes in every notification (≤ 128 characters). Give the same value to every
   * instance; without it a random one is made per process (fine for a single instance).
   */
  clientState?: string;
  /** Subscription lifetime; capped at 42,300 minutes (with a warning). Default 29. */
  expirationDays?: number;
  /** Largest notification body accepted. Default 1 MiB. */
  maxBodyBytes?: number;
}

/** Delta pulls: on a timer, on demand, and after webhook notifications — coalesced per list. */
export class Inbound {
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly running = new Map<string, Promise<LoadResult>>();
  private readonly again = new Set<string>();
  private stopped = false;

  constructor(
    private readonly ctx: SyncContext,
    private readonly cache: Cache,
    private readonly options: InboundOptions = {},
  ) {}

  start(): void {
    const seconds = this.options.pollIntervalSeconds ?? 60;
    if (seconds <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      this.pollLoaded().catch((error) =>
        this.ctx.logger.warn('typeorm-sharepoint: poll failed', { error: String(error) }),
      );
    }, seconds * 1000);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.running.values()]);
  }

  /**
   * The poll: only lists already in the cache (a stored deltaLink). A list nobody has needed yet stays
   * unloaded — lazy loading stays lazy; its first use loads it.
   */
  async pollLoaded(): Promise<LoadResult[]> {
    const loaded = new Set(
      (await rows<{ entity: string }>(this.ctx.dataSource, sql.loadedEntities(this.ctx.schema))).map(
        (r) => r.entity,
      ),
    );
    const lists = this.ctx.lists.filter((l) => loaded.has(l.entityName));
    const results = await Promise.all(lists.map((l) => this.pullOne(l)));
    this.ctx.emit({ type: 'inbound.polled', entities: lists.map((l) => l.entityName) });
    return results;
  }

  /** Applies what changed in SharePoint (one list, or every list) and returns what each pull did. */
  async pull(entity?: Function | string): Promise<LoadResult[]> {
    const lists = entity === undefined ? this.ctx.lists : [listFor(this.ctx, entity)];
    return Promise.all(lists.map((list) => this.pullOne(list)));
  }

  /** One pull per list at a time; a request during a pull runs once more right after it (bursts coalesce). */
  pullOne(list: ListSchema): Promise<LoadResult> {
    const key = list.entityName;
    const current = this.running.get(key);
    if (current) {
      this.again.add(key);
      return current;
    }
    const run = (async (): Promise<LoadResult> => {
      let result: LoadResult;
      do {
        this.again.delete(key);
        result = await this.cache.refresh(list.target);
        this.ctx.emit({
          type: 'inbound.applied',
          entity: key,
          upserted: result.loaded,
          deleted: result.deleted,
          echoes: result.echoes ?? 0,
        });
      } while (this.again.has(key) && !this.stopped);
      return result;
    })().finally(() => this.running.delete(key));
    this.running.set(key, run);
    return run;
  }
}

/** A request as the framework-neutral handler sees it. */
interface WebhookRequest {
  method: string;
  url: string;
  body: string;
}

interface WebhookAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

export interface SubscriptionInfo {
  entity: string;
  listId: string;
  subscriptionId: string;
  expiresAt: Date;
}

/** Webhooks: the receiving handler and the subscriptions that make Graph call it. */
export class Webhooks {
  readonly clientState: string;
  private readonly maxBodyBytes: number;
  /** One timer for all lists: it renews them together before the first one expires. */
  private renewTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ctx: SyncContext,
    private readonly inbound: Inbound,
    private readonly options: WebhookOptions = {},
  ) {
    this.clientState = options.clientState ?? randomBytes(24).toString('base64url');
    if (this.clientState.length > 128)
      throw new Error('typeorm-sharepoint: webhooks.clientState must be at most 128 characters');
    this.maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  }

  get path(): string {
    return this.options.path ?? '/sharepoint/webhook';
  }

  /**
   * The handler, framework-neutral: call it with Node's `(req, res)` (Express, Fastify's `reply.raw`, NestJS)
   * or use `.fetch(request)` for fetch-style runtimes. It answers the validation handshake, checks
   * `clientState` in constant time (403, nothing done, on a mismatch), limits the body, answers 202 at once
   * and pulls the notified lists in the background (bursts coalesce).
   */
  handler(): ((req: IncomingMessage, res: ServerResponse) => void) & {
    fetch(request: Request): Promise<Response>;
  } {
    const node = (req: IncomingMessage, res: ServerResponse) => {
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > this.maxBodyBytes) {
        res.writeHead(413).end();
        req.resume();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > this.maxBodyBytes) tooLarge = true;
        else chunks.push(chunk);
      });
      req.on('end', () => {
        const answer = tooLarge
          ? { status: 413, headers: {}, body: '' }
          : this.handle({
              method: req.method ?? 'POST',
              url: req.url ?? '/',
              body: Buffer.concat(chunks).toString('utf8'),
            });
        res.writeHead(answer.status, answer.headers).end(answer.body);
      });
    };
    const fetchHandler = async (request: Request): Promise<Response> => {
      const declared = Number(request.headers.get('content-length') ?? 0);
      if (declared > this.maxBodyBytes) return new Response(null, { status: 413 });
      const body = await request.text();
      if (Buffer.byteLength(body) > this.maxBodyBytes) return new Response(null, { status: 413 });
      const answer = this.handle({ method: request.method, url: request.url, body });
      return new Response(answer.body || null, { status: answer.status, headers: answer.headers });
    };
    return Object.assign(node, { fetch: fetchHandler });
  }

  private handle(request: WebhookRequest): WebhookAnswer {
    const url = new URL(request.url, 'http://localhost');
    const token = url.searchParams.get('validationToken');
    if (token !== null) return { status: 200, headers: { 'Content-Type': 'text/plain' }, body: token };
    if (request.method !== 'POST') return { status: 405, headers: {}, body: '' };
    let notifications: { clientState?: unknown; resource?: unknown }[];
    try {
      const parsed = JSON.parse(request.body) as { value?: unknown };
      if (!Array.isArray(parsed.value)) throw new Error('no value array');
      notifications = parsed.value as typeof notifications;
    } catch {
      return { status: 400, headers: {}, body: '' };
    }
    const expected = digest(this.clientState);
    // Every notification must carry our secret: one forged entry rejects the whole delivery.
    if (
      !notifications.every(
        (n) => typeof n.clientState === 'string' && timingSafeEqual(digest(n.clientState), expected),
      )
    ) {
      this.ctx.logger.warn('typeorm-sharepoint: webhook notification with a wrong clientState refused');
      return { status: 403, headers: {}, body: '' };
    }
    const lists = new Set<ListSchema>();
    for (const n of notifications) {
      const listId = /lists\/([^/]+)/i.exec(String(n.resource ?? ''))?.[1];
      for (const [entity, id] of this.ctx.listIds) {
        if (id === listId) lists.add(listFor(this.ctx, entity));
      }
    }
    for (const list of lists) {
      this.inbound.pullOne(list).catch((error) =>
        this.ctx.logger.warn('typeorm-sharepoint: pull after notification failed', {
          entity: list.entityName,
          error: String(error),
        }),
      );
    }
    return { status: 202, headers: {}, body: '' };
  }

  /** Lifetime asked of Graph, capped at its maximum with a warning. */
  private expiration(): Date {
    const days = this.options.expirationDays ?? 29;
    let minutes = days * 24 * 60;
    if (minutes > MAX_SUBSCRIPTION_MINUTES) {
      this.ctx.logger.warn(
        'typeorm-sharepoint: webhook expiration capped: Graph refuses list subscriptions longer than 42,300 minutes',
        {
          requestedDays: days,
          cappedMinutes: MAX_SUBSCRIPTION_MINUTES,
        },
      );
      minutes = MAX_SUBSCRIPTION_MINUTES;
    }
    // A minute of margin: the clocks of Graph and of this host are not the same clock.
    return new Date(Date.now() + (minutes - 1) * 60_000);
  }

  /**
   * One subscription per list to `baseUrl + path`: renewed when one is stored (PATCH), created otherwise, and
   * renewed again before it expires while this process runs. Polling stays on as the safety net.
   */
  async ensureSubscriptions(): Promise<SubscriptionInfo[]> {
    if (!this.options.baseUrl) {
      throw new Error(
        'typeorm-sharepoint: webhooks need a public base URL (webhooks.baseUrl / SHAREPOINT_WEBHOOK_BASE_URL)',
      );
    }
    const notificationUrl = `${this.options.baseUrl.replace(/\/+$/, '')}${this.path}`;
    const stored = new Map(
      (
        await rows<{ entity: string; subscription_id: string; list_id: string }>(
          this.ctx.dataSource,
          sql.selectSubscriptions(this.ctx.schema),
        )
      ).map((r) => [r.entity, r]),
    );
    const out: SubscriptionInfo[] = [];
    for (const list of this.ctx.lists) {
      const listId = this.ctx.listIds.get(list.entityName);
      if (!listId) continue;
      const expirationDateTime = this.expiration().toISOString();
      const previous = stored.get(list.entityName);
      let subscription: { id: string; expirationDateTime: string } | undefined;
      if (previous && previous.list_id === listId) {
        subscription = await this.ctx.graph
          .patch<{ id: string; expirationDateTime: string }>(`/subscriptions/${previous.subscription_id}`, {
            expirationDateTime,
          })
          .catch((error: unknown) => {
            if (error instanceof GraphError && error.status === 404) return undefined;
            throw error;
          });
      }
      subscription ??= await this.ctx.graph.post<{ id: string; expirationDateTime: string }>(
        '/subscriptions',
        {
          changeType: 'updated',
          notificationUrl,
          resource: `sites/${this.ctx.site.id}/lists/${listId}`,
          expirationDateTime,
          clientState: this.clientState,
        },
      );
      const expiresAt = new Date(subscription.expirationDateTime);
      await execute(this.ctx.dataSource, sql.upsertSubscription(this.ctx.schema), [
        list.entityName,
        listId,
        subscription.id,
        notificationUrl,
        expiresAt,
      ]);
      out.push({ entity: list.entityName, listId, subscriptionId: subscription.id, expiresAt });
    }
    const first = out.reduce<Date | undefined>(
      (min, s) => (!min || s.expiresAt < min ? s.expiresAt : min),
      undefined,
    );
    if (first) this.scheduleRenewal(first);
    return out;
  }

  private scheduleRenewal(expiresAt: Date): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    // Renew a day before the end (or halfway, for short lifetimes).
    const left = expiresAt.getTime() - Date.now();
    const delay = Math.max(1000, Math.min(left - 24 * 3600_000, left / 2));
    this.renewTimer = setTimeout(
      () => {
        this.ensureSubscriptions().catch((error) =>
          this.ctx.logger.warn('typeorm-sharepoint: webhook renewal failed', { error: String(error) }),
        );
      },
      Math.min(delay, 2 ** 31 - 1),
    );
    this.renewTimer.unref?.();
  }

  stop(): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = undefined;
  }
}
