import { badRequest, GraphError, notFound } from './errors.js';
import type { SeededRandom } from './random.js';
import { formatDate, type ListRecord } from './store/records.js';
import type { SubscriptionSnapshot } from './types.js';

/** Longest lifetime of a list subscription; Graph refuses (400) a later expirationDateTime instead of capping it. */
export const MAX_LIST_SUBSCRIPTION_MINUTES = 42_300;
const VALIDATION_TIMEOUT_MS = 10_000;
const DELIVERY_ATTEMPTS = 4;
const RETRY_BASE_MS = 100;

interface SubscriptionRecord {
  id: string;
  resource: string;
  list: ListRecord;
  changeType: string;
  notificationUrl: string;
  clientState: string | null;
  expiresAt: number;
  timer?: ReturnType<typeof setTimeout>;
  delivered: number;
  dropped: number;
}

const SETTABLE_ON_CREATE = new Set([
  'changeType',
  'notificationUrl',
  'resource',
  'expirationDateTime',
  'clientState',
  'latestSupportedTlsVersion',
  'lifecycleNotificationUrl',
  'includeResourceData',
]);

/** Webhook subscriptions on lists: validation handshake, coalesced notifications with retries, renewal. */
export class SubscriptionService {
  private readonly records = new Map<string, SubscriptionRecord>();
  private readonly aborter = new AbortController();
  private readonly retryTimers = new Set<ReturnType<typeof setTimeout>>();
  private closed = false;
  readonly tenantId: string;
  readonly applicationId: string;

  constructor(
    private readonly random: SeededRandom,
    private readonly now: () => number,
    private readonly notificationDelayMs: number,
    private readonly resolveResource: (resource: string) => ListRecord | undefined,
  ) {
    this.tenantId = random.guid();
    this.applicationId = random.guid();
  }

  async create(body: unknown): Promise<SubscriptionRecord> {
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw badRequest('The body must be an object.');
    const b = body as Record<string, unknown>;
    for (const key of Object.keys(b)) {
      if (!key.startsWith('@odata.') && !SETTABLE_ON_CREATE.has(key)) {
        throw badRequest(`Property '${key}' cannot be set when creating a subscription.`);
      }
    }
    if (b.changeType !== 'updated') {
      throw badRequest("SharePoint lists support only changeType 'updated'.");
    }
    if (typeof b.resource !== 'string' || b.resource === '')
      throw badRequest("Property 'resource' is required.");
    const list = this.resolveResource(b.resource);
    if (!list) throw notFound(`The resource '${b.resource}' does not exist or is not a list.`);
    if (typeof b.notificationUrl !== 'string' || !/^https?:\/\//.test(b.notificationUrl)) {
      throw badRequest("Property 'notificationUrl' must be an absolute http(s) URL.");
    }
    if (b.clientState !== undefined && b.clientState !== null) {
      if (typeof b.clientState !== 'string') throw badRequest("Property 'clientState' must be a string.");
      if (b.clientState.length > 128)
        throw badRequest("Property 'clientState' must be at most 128 characters.");
    }
    const expiresAt = this.parseExpiration(b.expirationDateTime);
    await this.validateEndpoint(b.notificationUrl);
    const record: SubscriptionRecord = {
      id: this.random.guid(),
      resource: b.resource,
      list,
      changeType: 'updated',
      notificationUrl: b.notificationUrl,
      clientState: (b.clientState as string | undefined) ?? null,
      expiresAt,
      delivered: 0,
      dropped: 0,
    };
    this.records.set(record.id, record);
    return record;
  }

  private parseExpiration(value: unknown): number {
    if (typeof value !== 'string') throw badRequest("Property 'expirationDateTime' is required.");
    const at = Date.parse(value);
    if (Number.isNaN(at)) throw badRequest("Property 'expirationDateTime' is not a valid date and time.");
    const now = this.now();
    if (at <= now) throw badRequest('Subscription expiration must be in the future.');
    if (at > now + MAX_LIST_SUBSCRIPTION_MINUTES * 60_000) {
      throw new GraphError(
        400,
        'ExtensionError',
        `Subscription expiration can only be ${MAX_LIST_SUBSCRIPTION_MINUTES} minutes in the future.`,
      );
    }
    return at;
  }

  /** Graph POSTs `?validationToken=…` and needs 200 with the token as text/plain within 10 s. */
  private async validateEndpoint(notificationUrl: string): Promise<void> {
    const token = `Validation: Testing client application reachability for subscription Request-Id: ${this.random.guid()}`;
    const url = `${notificationUrl}${notificationUrl.includes('?') ? '&' : '?'}validationToken=${encodeURIComponent(token)}`;
    let ok = false;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain; charset=utf-8' },
        body: '',
        signal: AbortSignal.any([AbortSignal.timeout(VALIDATION_TIMEOUT_MS), this.aborter.signal]),
      });
      const text = await response.text();
      ok = response.status === 200 && text === token;
    } catch {
      ok = false;
    }
    if (!ok) {
      throw badRequest(
        'Subscription validation request failed. Notification endpoint must respond with 200 OK and the validation token as text/plain within 10 seconds.',
      );
    }
  }

  private active(id: string): SubscriptionRecord {
    const record = this.records.get(id);
    if (!record || record.expiresAt <= this.now()) throw notFound(`The subscription '${id}' does not exist.`);
    return record;
  }

  get(id: string): SubscriptionRecord {
    return this.active(id);
  }

  list(): SubscriptionRecord[] {
    const now = this.now();
    return [...this.records.values()].filter((r) => r.expiresAt > now);
  }

  update(id: string, body: unknown): SubscriptionRecord {
    const record = this.active(id);
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw badRequest('The body must be an object.');
    const b = body as Record<string, unknown>;
    for (const key of Object.keys(b)) {
      if (!key.startsWith('@odata.') && key !== 'expirationDateTime') {
        throw badRequest(`Property '${key}' cannot be changed on a subscription (only expirationDateTime).`);
      }
    }
    record.expiresAt = this.parseExpiration(b.expirationDateTime);
    return record;
  }

  delete(id: string): void {
    const record = this.active(id);
    if (record.timer) clearTimeout(record.timer);
    this.records.delete(id);
  }

  toJson(record: SubscriptionRecord): Record<string, unknown> {
    return {
      id: record.id,
      resource: record.resource,
      applicationId: this.applicationId,
      changeType: record.changeType,
      clientState: record.clientState,
      notificationUrl: record.notificationUrl,
      notificationQueryOptions: null,
      lifecycleNotificationUrl: null,
      expirationDateTime: new Date(record.expiresAt).toISOString(),
      creatorId: this.applicationId,
      includeResourceData: false,
      latestSupportedTlsVersion: 'v1_2',
      encryptionCertificate: null,
      encryptionCertificateId: null,
      notificationUrlAppId: null,
      // subscription-post-subscriptions.md: the answer names the content type of the notifications.
      notificationContentType: 'application/json',
    };
  }

  snapshots(): SubscriptionSnapshot[] {
    const now = this.now();
    return [...this.records.values()].map((r) => ({
      id: r.id,
      resource: r.resource,
      siteId: r.list.site.id,
      listId: r.list.id,
      changeType: r.changeType,
      notificationUrl: r.notificationUrl,
      clientState: r.clientState,
      expirationDateTime: new Date(r.expiresAt).toISOString(),
      expired: r.expiresAt <= now,
      notificationsDelivered: r.delivered,
      notificationsDropped: r.dropped,
    }));
  }

  /** Called on every item change; one notification per subscription per coalescing window. */
  listChanged(list: ListRecord): void {
    if (this.closed) return;
    const now = this.now();
    for (const record of this.records.values()) {
      if (record.list !== list || record.expiresAt <= now || record.timer) continue;
      record.timer = setTimeout(() => {
        record.timer = undefined;
        void this.deliver(record);
      }, this.notificationDelayMs);
      record.timer.unref?.();
    }
  }

  private async deliver(record: SubscriptionRecord): Promise<void> {
    for (let attempt = 0; attempt < DELIVERY_ATTEMPTS; attempt++) {
      if (this.closed || !this.records.has(record.id) || record.expiresAt <= this.now()) return;
      if (attempt > 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(
            () => {
              this.retryTimers.delete(t);
              resolve();
            },
            RETRY_BASE_MS * 2 ** (attempt - 1),
          );
          t.unref?.();
          this.retryTimers.add(t);
        });
        if (this.closed) return;
      }
      const notification = {
        subscriptionId: record.id,
        clientState: record.clientState,
        resource: record.resource,
        tenantId: this.tenantId,
        subscriptionExpirationDateTime: formatDate(record.expiresAt),
        changeType: 'updated',
        resourceData: null,
      };
      try {
        const response = await fetch(record.notificationUrl, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ value: [notification] }),
          signal: AbortSignal.any([AbortSignal.timeout(VALIDATION_TIMEOUT_MS), this.aborter.signal]),
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.status >= 200 && response.status < 300) {
          record.delivered++;
          return;
        }
      } catch {
        // retried below; a receiver that is down must never crash the emulator
      }
    }
    if (!this.closed) record.dropped++;
  }

  close(): void {
    this.closed = true;
    this.aborter.abort();
    for (const r of this.records.values()) if (r.timer) clearTimeout(r.timer);
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
  }
}
