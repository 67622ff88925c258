import { randomBytes } from 'node:crypto';
import type { Cache, LoadResult } from '../cache/index.js';
import { listFor, type SyncContext } from '../context.js';
import { GraphError, graphPath, listIdOfResource, listResource } from '../graph/index.js';
import type { ListSchema } from '../schema/index.js';
import { execute, rows } from '../store/db.js';
import * as sql from '../store/sql.js';
import { type WebhookHandler, WebhookReceiver, webhookHandler } from './webhook.js';

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
  /** Largest notification body accepted; reading stops as soon as a body passes it (413). Default 1 MiB. */
  maxBodyBytes?: number;
  /**
   * Pulls that notifications start for one list begin at least this far apart (the first one at once).
   * A burst of notifications for a list costs one pull at once plus at most one more per interval while it
   * lasts. Default 1000.
   */
  minPullIntervalMs?: number;
}

/** Delta pulls: on a timer, on demand, and after webhook notifications — coalesced per list. */
export class Inbound {
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly running = new Map<string, Promise<LoadResult>>();
  private readonly again = new Set<string>();
  /** Per list, the one notification-driven pull waiting for its turn (at most one). */
  private readonly queued = new Map<string, Promise<void>>();
  /** When each list's latest pull started. */
  private readonly lastStart = new Map<string, number>();
  /** Waits of queued pulls, so that `stop()` can end them at once. */
  private readonly waits = new Set<{ timer: ReturnType<typeof setTimeout>; resolve: () => void }>();
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
    for (const wait of this.waits) {
      clearTimeout(wait.timer);
      wait.resolve();
    }
    this.waits.clear();
    await this.settled();
  }

  /** Resolves once no pull is running or queued (pulls started meanwhile included). */
  async settled(): Promise<void> {
    while (this.running.size > 0 || this.queued.size > 0) {
      await Promise.allSettled([...this.running.values(), ...this.queued.values()]);
    }
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
        this.lastStart.set(key, Date.now());
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

  /**
   * A notification says `list` changed. Whatever the burst, a list has at most one pull running and one
   * queued: the first notification pulls at once; later ones join the single queued pull, which starts
   * after the running one ends and no sooner than `minIntervalMs` after the previous start — so it still
   * starts after the last notification it stands for.
   */
  notify(list: ListSchema, minIntervalMs: number): void {
    const key = list.entityName;
    if (this.stopped || this.queued.has(key)) return;
    const due = (this.lastStart.get(key) ?? Number.NEGATIVE_INFINITY) + minIntervalMs;
    if (!this.running.has(key) && Date.now() >= due) {
      this.pullInBackground(list);
      return;
    }
    const job = (async () => {
      await this.wait(due - Date.now());
      await this.running.get(key)?.catch(() => undefined);
      this.queued.delete(key);
      if (!this.stopped) this.pullInBackground(list);
    })();
    this.queued.set(key, job);
  }

  private pullInBackground(list: ListSchema): void {
    this.pullOne(list).catch((error) =>
      this.ctx.logger.warn('typeorm-sharepoint: pull after notification failed', {
        entity: list.entityName,
        error: String(error),
      }),
    );
  }

  /** A timer that neither keeps the process alive nor outlives `stop()`. */
  private wait(ms: number): Promise<void> {
    if (ms <= 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.waits.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      entry.timer.unref?.();
      this.waits.add(entry);
    });
  }
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
  private readonly receiver: WebhookReceiver;
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
    for (const [name, value, min] of [
      ['maxBodyBytes', options.maxBodyBytes, 1],
      ['minPullIntervalMs', options.minPullIntervalMs, 0],
    ] as const) {
      if (value !== undefined && !(Number.isFinite(value) && value >= min))
        throw new Error(`typeorm-sharepoint: webhooks.${name} must be a number ≥ ${min}, got ${value}`);
    }
    // The secret that proves a notification comes from Graph never appears in an error or a log line.
    ctx.graph.redact(this.clientState);
    this.receiver = new WebhookReceiver({
      maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
      clientState: this.clientState,
      onForged: () =>
        this.ctx.logger.warn(
          'typeorm-sharepoint: webhook delivery without the right clientState refused (403)',
        ),
    });
  }

  get path(): string {
    return this.options.path ?? '/sharepoint/webhook';
  }

  /**
   * The handler, framework-neutral: call it with Node's `(req, res)` (Express, Fastify's `reply.raw`, NestJS)
   * or use `.fetch(request)` for fetch-style runtimes. It answers the validation handshake, streams the body
   * and stops reading as soon as it passes `maxBodyBytes` (413), checks `clientState` in constant time (403,
   * nothing done, on a mismatch), answers 202 at once and pulls the notified lists in the background
   * (coalesced: see `minPullIntervalMs`).
   */
  handler(): WebhookHandler {
    return webhookHandler(this.receiver, (resources) => this.accepted(resources));
  }

  /** Resolves once no pull (started by a notification or otherwise) is running or queued. */
  settled(): Promise<void> {
    return this.inbound.settled();
  }

  private accepted(resources: string[]): void {
    const lists = new Set<ListSchema>();
    for (const resource of resources) {
      const listId = listIdOfResource(resource);
      for (const [entity, id] of this.ctx.listIds) {
        if (id === listId) lists.add(listFor(this.ctx, entity));
      }
    }
    const interval = this.options.minPullIntervalMs ?? 1000;
    for (const list of lists) this.inbound.notify(list, interval);
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
          .patch<{ id: string; expirationDateTime: string }>(
            graphPath.subscription(previous.subscription_id),
            {
              expirationDateTime,
            },
          )
          .catch((error: unknown) => {
            if (error instanceof GraphError && error.status === 404) return undefined;
            throw error;
          });
      }
      subscription ??= await this.ctx.graph.post<{ id: string; expirationDateTime: string }>(
        graphPath.subscriptions(),
        {
          changeType: 'updated',
          notificationUrl,
          resource: listResource(this.ctx.site.id, listId),
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
