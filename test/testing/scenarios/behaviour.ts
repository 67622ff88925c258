// biome-ignore-all lint/suspicious/noExplicitAny: JSON read off the wire, asserted field by field
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../../src/testing/index.js';
import { shapeViolations } from '../../support/graph-schema.js';
import { waitFor } from '../../support/wait.js';
import { call, SITE, startReceiver, type Transport, useEmulator } from '../support.js';
import { ORDERED } from './common.js';

/** Every behaviour of the emulator, proven over one transport (the msw and loopback files both run these). */
/** Throttling: RateLimit headers, 429 with Retry-After, per inner request. */
export function throttlingScenario(transport: Transport): void {
  describe(`throttling (${transport.name})`, ORDERED, () => {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const ctx = useEmulator(transport, { resourceUnitsPerMinute: 20, now: () => clock });

    it('RateLimit headers from 80 % of the budget, then 429 with Retry-After; the budget frees after a minute', async () => {
      const path = `/sites/${ctx.siteId}`; // 1 RU each
      const seen: Array<{ status: number; remaining: string | null; retryAfter: string | null }> = [];
      for (let i = 0; i < 22; i++) {
        const r = await ctx.call('GET', path);
        seen.push({
          status: r.status,
          remaining: r.headers.get('ratelimit-remaining'),
          retryAfter: r.headers.get('retry-after'),
        });
      }
      expect(seen.slice(0, 15).every((s) => s.remaining === null && s.status === 200)).toBe(true);
      expect(seen[15]).toMatchObject({ status: 200, remaining: '4' });
      expect(seen[19]).toMatchObject({ status: 200, remaining: '0' });
      expect(seen[20]!.status).toBe(429);
      expect(Number(seen[20]!.retryAfter)).toBeGreaterThanOrEqual(1);
      const last = await ctx.call('GET', path);
      expect(last.status).toBe(429);
      expect(last.json.error.code).toBe('activityLimitReached');
      expect(last.headers.get('ratelimit-limit')).toBe('20');
      expect(ctx.emulator.log.counters().throttled).toBe(3);
      clock += 61_000;
      expect((await ctx.call('GET', path)).status).toBe(200);
    });

    it('inside $batch each inner request is charged: the overflow answers 429 inside a 200 envelope', async () => {
      clock += 61_000;
      const requests = Array.from({ length: 12 }, (_, i) => ({
        id: String(i),
        method: 'GET',
        url: `/sites/${ctx.siteId}/lists`, // 2 RU each
      }));
      const answer = await ctx.call('POST', '/$batch', { requests });
      expect(answer.status).toBe(200);
      const statuses = answer.json.responses.map((r: any) => r.status);
      expect(statuses.filter((s: number) => s === 200)).toHaveLength(10);
      const throttled = answer.json.responses.filter((r: any) => r.status === 429);
      expect(throttled).toHaveLength(2);
      expect(Number(throttled[0].headers['Retry-After'])).toBeGreaterThanOrEqual(1);
    });
  });
}

/** Faults: status, drop, lostResponse, latency, seeded probabilities. */
export function faultsScenario(transport: Transport): void {
  describe(`faults (${transport.name})`, ORDERED, () => {
    const ctx = useEmulator(transport, { seed: 9 });
    let items: string;
    const list = () => ctx.emulator.site(SITE).list('Faulty')!;

    it('status faults answer a Graph error with Retry-After, only for the matching route and count', async () => {
      ctx.emulator.site(SITE).createList({ displayName: 'Faulty' });
      items = `/sites/${ctx.siteId}/lists/Faulty/items`;
      const fault = ctx.emulator.faults.inject({
        method: 'POST',
        path: `/sites/${ctx.siteId}/lists/Faulty/items`,
        status: 503,
        retryAfterSeconds: 2,
        count: 1,
      });
      expect((await ctx.call('GET', items)).status).toBe(200);
      const failed = await ctx.call('POST', items, { fields: { Title: 'one' } });
      expect(failed.status).toBe(503);
      expect(failed.headers.get('retry-after')).toBe('2');
      expect(failed.json.error.code).toBe('serviceNotAvailable');
      expect(list().items()).toHaveLength(0);
      expect((await ctx.call('POST', items, { fields: { Title: 'one' } })).status).toBe(201);
      expect(fault.hits).toBe(1);
      const logged = ctx.emulator.log.entries.filter((e) => e.fault !== undefined);
      expect(logged).toEqual([expect.objectContaining({ method: 'POST', status: 503, fault: 'status:503' })]);
      for (const status of [429, 500, 502, 504] as const) {
        const f = ctx.emulator.faults.inject({ path: /\/items$/, method: 'GET', status });
        expect((await ctx.call('GET', items)).status).toBe(status);
        f.remove();
      }
      expect((await ctx.call('GET', items)).status).toBe(200);
    });

    it('drop: the connection fails and nothing is applied', async () => {
      const before = list().items().length;
      ctx.emulator.faults.inject({ method: 'POST', path: /\/items$/, drop: true, count: 1 });
      await expect(call(ctx.base, 'POST', items, { fields: { Title: 'dropped' } })).rejects.toThrow();
      expect(list().items()).toHaveLength(before);
      expect(ctx.emulator.log.entries.at(-1)).toMatchObject({ fault: 'drop' });
    });

    it('lostResponse: the write is applied, then the connection fails', async () => {
      const before = list().items().length;
      ctx.emulator.faults.inject({ method: 'POST', path: /\/items$/, lostResponse: true, count: 1 });
      await expect(call(ctx.base, 'POST', items, { fields: { Title: 'lost' } })).rejects.toThrow();
      expect(list().items()).toHaveLength(before + 1);
      expect(list().items().at(-1)!.fields.Title).toBe('lost');
      expect(ctx.emulator.log.entries.at(-1)).toMatchObject({ status: 201, fault: 'lostResponse' });
      // Inside a batch the inner write is applied and answers 504.
      ctx.emulator.faults.inject({ scope: 'inner', method: 'POST', lostResponse: true, count: 1 });
      const answer = await ctx.call('POST', '/$batch', {
        requests: [
          {
            id: '1',
            method: 'POST',
            url: items,
            headers: { 'Content-Type': 'application/json' },
            body: { fields: { Title: 'lost inside' } },
          },
        ],
      });
      expect(answer.json.responses[0].status).toBe(504);
      expect(list().items().at(-1)!.fields.Title).toBe('lost inside');
    });

    it('latency: the answer comes late but succeeds', async () => {
      const fault = ctx.emulator.faults.inject({ method: 'GET', path: /\/items$/, latencyMs: 200 });
      const started = performance.now();
      const slow = await ctx.call('GET', items);
      expect(slow.status).toBe(200);
      expect(performance.now() - started).toBeGreaterThanOrEqual(190);
      expect(ctx.emulator.log.entries.at(-1)).toMatchObject({ status: 200, fault: 'latency:200' });
      fault.remove();
      await ctx.call('GET', items);
      expect(ctx.emulator.log.entries.at(-1)!.fault).toBeUndefined();
      expect(fault.hits).toBe(1);
    });

    it('probabilities are seeded: the same seed fails the same requests', async () => {
      const pattern = async () => {
        const emulator = createEmulator({ sites: [SITE], seed: 21 });
        const served = await transport.start(emulator);
        try {
          emulator.faults.inject({ status: 500, probability: 0.3 });
          const statuses: number[] = [];
          for (let i = 0; i < 30; i++)
            statuses.push((await call(served.base, 'GET', `/sites/${emulator.site(SITE).id}`)).status);
          expect(emulator.log.counters().faults).toBe(statuses.filter((s) => s === 500).length);
          return statuses;
        } finally {
          await served.stop();
          await emulator.close();
        }
      };
      const first = await pattern();
      expect(first.filter((s) => s === 500).length).toBeGreaterThan(0);
      expect(first.filter((s) => s === 200).length).toBeGreaterThan(0);
      expect(await pattern()).toEqual(first);
    });

    it('faults.clear() removes every rule; a bad probability is refused', async () => {
      ctx.emulator.faults.inject({ status: 500 });
      ctx.emulator.faults.inject({ drop: true });
      ctx.emulator.faults.clear();
      expect((await ctx.call('GET', items)).status).toBe(200);
      expect(() => ctx.emulator.faults.inject({ status: 500, probability: 2 })).toThrow(/probability/);
    });
  });
}

/** Options, the request log and the backdoor. */
export function optionsLogAndBackdoorScenario(transport: Transport): void {
  describe(`options, log and backdoor (${transport.name})`, ORDERED, () => {
    const ctx = useEmulator(transport, { latencyMs: 120 });

    it('latencyMs delays every outer call', async () => {
      const started = performance.now();
      expect((await ctx.call('GET', `/sites/${ctx.siteId}`)).status).toBe(200);
      expect(performance.now() - started).toBeGreaterThanOrEqual(110);
    });

    it('logs every call with its cost; backdoor edits are not logged but are visible', async () => {
      ctx.emulator.log.reset();
      const list = ctx.emulator.site(SITE).createList({ displayName: 'Logged' });
      const made = list.createItem({ Title: 'by a person' });
      expect(ctx.emulator.log.entries).toHaveLength(0);
      const items = await ctx.call('GET', `/sites/${ctx.siteId}/lists/Logged/items?$expand=fields`);
      expect(items.json.value.map((i: any) => i.fields.Title)).toEqual(['by a person']);
      await ctx.call('GET', `/sites/${ctx.siteId}/lists/Logged/items/${made.id}`);
      await ctx.call('PATCH', `/sites/${ctx.siteId}/lists/Logged/items/${made.id}/fields`, { Title: 'x' });
      expect(ctx.emulator.log.entries.map((e) => [e.method, e.status, e.resourceUnits])).toEqual([
        ['GET', 200, 2],
        ['GET', 200, 1],
        ['PATCH', 200, 2],
      ]);
      expect(ctx.emulator.log.entries[0]!.query).toBe('$expand=fields');
      expect(ctx.emulator.log.counters()).toEqual({
        requests: 3,
        batchRequests: 0,
        resourceUnits: 5,
        throttled: 0,
        faults: 0,
      });
      expect(list.item(made.id)!.fields.Title).toBe('x');
      expect(() => ctx.emulator.site('contoso.sharepoint.com:/sites/none')).toThrow(/no site/);
    });
  });
}

/** The latency model (issue 19): a fixed time per call plus a time per list item the answer carries. */
export function latencyScenario(transport: Transport): void {
  describe(`latency model (${transport.name})`, ORDERED, () => {
    const PER_REQUEST = 40;
    const PER_ITEM = 3;
    const ctx = useEmulator(transport, {
      latency: { perRequestMs: PER_REQUEST, perItemMs: PER_ITEM },
      deltaRepeatProbability: 0,
    });
    const timed = async (path: string) => {
      const started = performance.now();
      const reply = await ctx.call('GET', path);
      return { reply, ms: performance.now() - started };
    };

    it('a page of N items takes at least perRequestMs + N × perItemMs (items, delta, one item, $batch)', async () => {
      const list = ctx.emulator.site(SITE).createList({ displayName: 'Slow' });
      for (let i = 0; i < 60; i++) list.createItem({ Title: `s${i}` });
      const items = `/sites/${ctx.siteId}/lists/${list.id}/items`;
      for (const n of [60, 25, 1]) {
        const page = await timed(`${items}?$top=${n}&$expand=fields`);
        expect(page.reply.json.value).toHaveLength(n);
        expect(page.ms, `a page of ${n}`).toBeGreaterThanOrEqual(PER_REQUEST + n * PER_ITEM);
      }
      const delta = await timed(`${items}/delta?$top=30`);
      expect(delta.reply.json.value).toHaveLength(30);
      expect(delta.ms).toBeGreaterThanOrEqual(PER_REQUEST + 30 * PER_ITEM);
      const one = await timed(`${items}/1`);
      expect(one.reply.status).toBe(200);
      expect(one.ms).toBeGreaterThanOrEqual(PER_REQUEST + PER_ITEM);
      const started = performance.now();
      const batch = await ctx.call('POST', '/$batch', {
        requests: [
          { id: '1', method: 'GET', url: `${items}?$top=20` },
          { id: '2', method: 'GET', url: `${items}?$top=10` },
        ],
      });
      expect(batch.json.responses.map((r: any) => r.body.value.length).sort()).toEqual([10, 20]);
      expect(performance.now() - started).toBeGreaterThanOrEqual(PER_REQUEST + 30 * PER_ITEM);
    });

    it('an answer without items takes the fixed time only: the site, an empty page, an error', async () => {
      expect((await timed(`/sites/${ctx.siteId}`)).ms).toBeGreaterThanOrEqual(PER_REQUEST);
      const empty = ctx.emulator.site(SITE).createList({ displayName: 'Empty' });
      const page = await timed(`/sites/${ctx.siteId}/lists/${empty.id}/items`);
      expect(page.reply.json.value).toEqual([]);
      expect(page.ms).toBeGreaterThanOrEqual(PER_REQUEST);
      const missing = await timed(`/sites/${ctx.siteId}/lists/Nope/items`);
      expect(missing.reply.status).toBe(404);
      expect(missing.ms).toBeGreaterThanOrEqual(PER_REQUEST);
    });
  });
}

/** Subscriptions: validation, notifications, renewal, deletion. */
export function subscriptionsScenario(transport: Transport): void {
  describe(`subscriptions (${transport.name})`, ORDERED, () => {
    const ctx = useEmulator(transport, { notificationDelayMs: 20 });

    it('validates the endpoint, notifies after an item change, renews, refuses > 42,300 minutes, deletes', async () => {
      const receiver = await startReceiver();
      try {
        const list = ctx.emulator.site(SITE).createList({ displayName: 'Watched' });
        const resource = `sites/${ctx.siteId}/lists/${list.id}`;
        const body = (minutes: number) => ({
          changeType: 'updated',
          notificationUrl: receiver.url,
          resource,
          expirationDateTime: new Date(Date.now() + minutes * 60_000).toISOString(),
          clientState: 'secret',
        });
        const tooLong = await ctx.call('POST', '/subscriptions', body(42_301));
        expect(tooLong.status).toBe(400);
        expect(receiver.validations).toHaveLength(0);

        const created = await ctx.call('POST', '/subscriptions', body(60));
        expect(created.status).toBe(201);
        expect(receiver.validations).toHaveLength(1);
        expect(shapeViolations('subscription', created.json)).toEqual([]);
        expect(created.json).toMatchObject({ resource, clientState: 'secret', changeType: 'updated' });

        const listed = await ctx.call('GET', '/subscriptions');
        expect(listed.json.value.map((s: any) => s.id)).toEqual([created.json.id]);
        for (const s of listed.json.value) expect(shapeViolations('subscription', s)).toEqual([]);

        // An item change over HTTP; three quick backdoor edits coalesce into one more notification.
        await ctx.call('POST', `/sites/${ctx.siteId}/lists/${list.id}/items`, { fields: { Title: 'hello' } });
        await waitFor(() => receiver.notifications.length === 1, { message: 'the first notification' });
        expect(receiver.notifications[0].value[0]).toMatchObject({
          clientState: 'secret',
          resource,
          subscriptionId: created.json.id,
          changeType: 'updated',
        });
        const item = list.createItem({ Title: 'a' });
        list.updateItem(item.id, { Title: 'b' });
        list.deleteItem(item.id);
        await waitFor(() => ctx.emulator.subscriptions()[0]!.notificationsDelivered === 2, {
          message: 'the coalesced notification',
        });
        expect(receiver.notifications).toHaveLength(2);

        const later = new Date(Date.now() + 120 * 60_000).toISOString();
        const renewed = await ctx.call('PATCH', `/subscriptions/${created.json.id}`, {
          expirationDateTime: later,
        });
        expect(renewed.status).toBe(200);
        expect(renewed.json.expirationDateTime).toBe(later);
        expect(
          (
            await ctx.call('PATCH', `/subscriptions/${created.json.id}`, {
              expirationDateTime: new Date(Date.now() + 42_301 * 60_000).toISOString(),
            })
          ).status,
        ).toBe(400);
        expect((await ctx.call('GET', `/subscriptions/${created.json.id}`)).json.expirationDateTime).toBe(
          later,
        );

        expect((await ctx.call('DELETE', `/subscriptions/${created.json.id}`)).status).toBe(204);
        expect((await ctx.call('GET', `/subscriptions/${created.json.id}`)).status).toBe(404);
        expect(ctx.emulator.subscriptions()).toHaveLength(0);
      } finally {
        await receiver.close();
      }
    });

    it('refuses a subscription whose endpoint does not echo the validation token', async () => {
      const receiver = await startReceiver({ echo: false });
      try {
        const list = ctx.emulator.site(SITE).createList({ displayName: 'Unreachable' });
        const refused = await ctx.call('POST', '/subscriptions', {
          changeType: 'updated',
          notificationUrl: receiver.url,
          resource: `sites/${ctx.siteId}/lists/${list.id}`,
          expirationDateTime: new Date(Date.now() + 60 * 60_000).toISOString(),
        });
        expect(refused.status).toBe(400);
        expect(refused.json.error.message).toMatch(/validation/i);
        expect(receiver.validations).toHaveLength(1);
        expect(ctx.emulator.subscriptions()).toHaveLength(0);
      } finally {
        await receiver.close();
      }
    });
  });
}
