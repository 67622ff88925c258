// biome-ignore-all lint/suspicious/noExplicitAny: JSON read off the wire, asserted field by field
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../../src/testing/index.js';
import { shapeViolations } from '../../support/graph-schema.js';
import { call, SITE, type Transport, useEmulator } from '../support.js';
import { ORDERED } from './common.js';

/** $batch: envelope rules, dependsOn, shuffling, inner faults and costs. */
export function batchScenario(transport: Transport): void {
  describe(`$batch (${transport.name})`, ORDERED, () => {
    const ctx = useEmulator(transport, { seed: 3 });
    let items: string;

    it('more than 20 requests answer 400; 20 are answered in a seeded shuffled order, matched by id', async () => {
      const list = ctx.emulator.site(SITE).createList({ displayName: 'Batched' });
      items = `/sites/${ctx.siteId}/lists/${list.id}/items`;
      const requests = Array.from({ length: 21 }, (_, i) => ({
        id: String(i + 1),
        method: 'POST',
        url: items,
        headers: { 'Content-Type': 'application/json' },
        body: { fields: { Title: `b${i + 1}` } },
      }));
      const tooMany = await ctx.call('POST', '/$batch', { requests });
      expect(tooMany.status).toBe(400);
      expect(tooMany.json.error.message).toMatch(/20/);
      expect(list.items()).toHaveLength(0);
      const ok = await ctx.call('POST', '/$batch', { requests: requests.slice(0, 20) });
      expect(ok.status).toBe(200);
      const ids = ok.json.responses.map((r: any) => r.id);
      expect([...ids].sort((a: string, b: string) => Number(a) - Number(b))).toEqual(
        requests.slice(0, 20).map((r) => r.id),
      );
      expect(ids).not.toEqual(requests.slice(0, 20).map((r) => r.id));
      for (const r of ok.json.responses) {
        expect(r.status).toBe(201);
        expect(r.body.fields.Title).toBe(`b${r.id}`);
        expect(shapeViolations('listItem', r.body)).toEqual([]);
      }
      // Each inner request is logged and charged on its own; the envelope costs nothing.
      const inner = ctx.emulator.log.entries.filter((e) => e.inBatch);
      expect(inner).toHaveLength(20);
      expect(inner.every((e) => e.resourceUnits === 2 && e.method === 'POST')).toBe(true);
      const outer = ctx.emulator.log.entries.filter((e) => !e.inBatch && e.path === '/$batch');
      expect(outer.map((e) => e.resourceUnits)).toEqual([0, 0]);
      expect(ctx.emulator.log.counters().batchRequests).toBe(20);
    });

    it('dependsOn runs after its dependency; a failed dependency answers 424', async () => {
      const requests = [
        {
          id: 'a',
          method: 'POST',
          url: items,
          headers: { 'Content-Type': 'application/json' },
          body: { fields: { Title: 'first' } },
        },
        { id: 'b', method: 'GET', url: `${items}/1?$expand=fields`, dependsOn: ['a'] },
        { id: 'c', method: 'DELETE', url: `${items}/424242` },
        { id: 'd', method: 'GET', url: `${items}/1`, dependsOn: ['c'] },
      ];
      const answer = await ctx.call('POST', '/$batch', { requests });
      const byId = new Map<string, any>(answer.json.responses.map((r: any) => [r.id, r]));
      expect(byId.get('a').status).toBe(201);
      expect(byId.get('b').status).toBe(200);
      expect(byId.get('c').status).toBe(404);
      expect(byId.get('d').status).toBe(424);
      expect((await ctx.call('POST', '/$batch', { requests: [{ id: 'x' }, { id: 'x' }] })).status).toBe(400);
      // A write with a body and no Content-Type fails the whole envelope, as Graph validates it first.
      const before = ctx.emulator.site(SITE).list('Batched')!.items().length;
      const untyped = await ctx.call('POST', '/$batch', {
        requests: [
          {
            id: '1',
            method: 'POST',
            url: items,
            headers: { 'Content-Type': 'application/json' },
            body: { fields: { Title: 'typed' } },
          },
          { id: '2', method: 'POST', url: items, body: { fields: { Title: 'untyped' } } },
        ],
      });
      expect(untyped.status).toBe(400);
      expect(untyped.json.error.message).toBe(
        "Write request with id '2' does not contain a Content-Type header.",
      );
      expect(ctx.emulator.site(SITE).list('Batched')!.items()).toHaveLength(before);
    });

    it('dependsOn names ids in any case; one naming no earlier request of the batch fails the whole batch (400)', async () => {
      const list = ctx.emulator.site(SITE).list('Batched')!;
      const write = (id: string, title: string, dependsOn?: string[]) => ({
        id,
        method: 'POST',
        url: items,
        headers: { 'Content-Type': 'application/json' },
        body: { fields: { Title: title } },
        ...(dependsOn ? { dependsOn } : {}),
      });
      // Ids are not case-sensitive (json-batching.md): 'A' is the request 'a'.
      const cased = await ctx.call('POST', '/$batch', {
        requests: [write('a', 'cased a'), write('b', 'cased b', ['A'])],
      });
      expect(cased.status).toBe(200);
      const statuses = new Map<string, number>(cased.json.responses.map((r: any) => [r.id, r.status]));
      expect([statuses.get('a'), statuses.get('b')]).toEqual([201, 201]);
      // …and a failure of 'a' still reaches 'B' through 'A'.
      const failed = await ctx.call('POST', '/$batch', {
        requests: [
          { id: 'a', method: 'DELETE', url: `${items}/424242` },
          { ...write('B', 'never'), dependsOn: ['A'] },
        ],
      });
      expect(failed.json.responses.find((r: any) => r.id === 'B').status).toBe(424);
      expect(list.items().some((i) => i.fields.Title === 'never')).toBe(false);
      // A dependsOn naming an id the batch lacks, a later request or itself: the batch is malformed, 400 as a
      // whole, and nothing of it runs.
      const before = list.items().length;
      for (const requests of [
        [write('1', 'missing 1'), write('2', 'missing 2', ['3'])],
        [write('1', 'forward 1', ['2']), write('2', 'forward 2')],
        [write('1', 'self', ['1'])],
        [{ ...write('1', 'not an array'), dependsOn: '0' }],
      ]) {
        const refused = await ctx.call('POST', '/$batch', { requests });
        expect(refused.status).toBe(400);
        expect(refused.json.error.code).toBe('invalidRequest');
        expect(typeof refused.json.error.message).toBe('string');
      }
      expect(list.items()).toHaveLength(before);
    });

    it('without shuffling the answers keep the request order', async () => {
      const emulator = createEmulator({ sites: [SITE], shuffleBatchResponses: false });
      const served = await transport.start(emulator);
      try {
        const requests = Array.from({ length: 10 }, (_, i) => ({
          id: String(i),
          method: 'GET',
          url: `/sites/${emulator.site(SITE).id}`,
        }));
        const answer = await call(served.base, 'POST', '/$batch', { requests });
        expect(answer.json.responses.map((r: any) => r.id)).toEqual(requests.map((r) => r.id));
      } finally {
        await served.stop();
        await emulator.close();
      }
    });

    it('inner faults (scope inner) fail only the matching inner requests, with their own Retry-After', async () => {
      const fault = ctx.emulator.faults.inject({
        scope: 'inner',
        method: 'POST',
        path: /\/items$/,
        status: 429,
        retryAfterSeconds: 3,
        count: 2,
      });
      const requests = Array.from({ length: 5 }, (_, i) => ({
        id: String(i),
        method: 'POST',
        url: items,
        headers: { 'Content-Type': 'application/json' },
        body: { fields: { Title: `f${i}` } },
      }));
      const before = ctx.emulator.site(SITE).list('Batched')!.items().length;
      const answer = await ctx.call('POST', '/$batch', { requests });
      expect(answer.status).toBe(200);
      const throttled = answer.json.responses.filter((r: any) => r.status === 429);
      expect(throttled).toHaveLength(2);
      for (const r of throttled) expect(r.headers['Retry-After']).toBe('3');
      expect(answer.json.responses.filter((r: any) => r.status === 201)).toHaveLength(3);
      expect(ctx.emulator.site(SITE).list('Batched')!.items().length).toBe(before + 3);
      expect(fault.hits).toBe(2);
      // The same rule never touches an outer call.
      expect((await ctx.call('POST', items, { fields: { Title: 'outer' } })).status).toBe(201);
      fault.remove();
      // And a 'request' rule never touches an inner request; inner latency delays only that request's answer.
      const outerOnly = ctx.emulator.faults.inject({ scope: 'request', path: /\/items$/, status: 500 });
      const slowInner = ctx.emulator.faults.inject({
        scope: 'inner',
        method: 'GET',
        latencyMs: 120,
        count: 1,
      });
      const started = performance.now();
      const mixed = await ctx.call('POST', '/$batch', {
        requests: [
          {
            id: 'w',
            method: 'POST',
            url: items,
            headers: { 'Content-Type': 'application/json' },
            body: { fields: { Title: 'in' } },
          },
          { id: 'r', method: 'GET', url: items },
        ],
      });
      expect(performance.now() - started).toBeGreaterThanOrEqual(110);
      expect(mixed.json.responses.map((r: any) => r.status).sort()).toEqual([200, 201]);
      expect(outerOnly.hits).toBe(0);
      expect(slowInner.hits).toBe(1);
      outerOnly.remove();
    });
  });
}
