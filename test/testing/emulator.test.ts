// biome-ignore-all lint/suspicious/noExplicitAny: JSON read off the wire, asserted field by field
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulator, type Emulator } from '../../src/testing/index.js';
import { shapeViolations } from '../support/graph-schema.js';
import { waitFor } from '../support/wait.js';

const SITE = 'contoso.sharepoint.com:/sites/emu';

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: response.status, headers: response.headers, json };
}

describe.each(['loopback', 'msw'] as const)('emulator over %s', (transport) => {
  let emulator: Emulator;
  let base: string;
  let siteId: string;
  let listId: string;
  let mswServer: ReturnType<typeof setupServer> | undefined;

  beforeAll(async () => {
    emulator = createEmulator({ sites: [SITE], seed: 5, resourceUnitsPerMinute: 400 });
    if (transport === 'loopback') {
      base = `${(await emulator.listen()).url}/v1.0`;
    } else {
      mswServer = setupServer(...emulator.handlers);
      mswServer.listen({ onUnhandledRequest: 'bypass' });
      base = 'https://graph.microsoft.com/v1.0';
    }
    const site = await call(base, 'GET', '/sites/contoso.sharepoint.com:/sites/emu');
    siteId = site.json.id;
  });
  afterAll(async () => {
    mswServer?.close();
    await emulator.close();
  });

  it('answers a site by path with Graph shapes, and 404 for a site not listed', async () => {
    const site = await call(base, 'GET', '/sites/contoso.sharepoint.com:/sites/emu');
    expect(site.status).toBe(200);
    expect(shapeViolations('site', site.json)).toEqual([]);
    expect((await call(base, 'GET', '/sites/contoso.sharepoint.com:/sites/other')).status).toBe(404);
  });

  it('creates a list with columns; refuses reserved names and unique-without-index', async () => {
    const created = await call(base, 'POST', `/sites/${siteId}/lists`, {
      displayName: 'Items',
      columns: [
        {
          name: 'TwentyId',
          text: { maxLength: 36 },
          indexed: true,
          enforceUniqueValues: true,
          required: true,
        },
        { name: 'Code', text: { maxLength: 10 } },
        { name: 'Size', number: { decimalPlaces: 'none' }, indexed: true },
      ],
      list: { template: 'genericList' },
    });
    expect(created.status).toBe(201);
    expect(shapeViolations('list', created.json)).toEqual([]);
    listId = created.json.id;
    const reserved = await call(base, 'POST', `/sites/${siteId}/lists/${listId}/columns`, {
      name: 'Modified',
      text: {},
    });
    expect(reserved.status).toBe(400);
    expect(reserved.json.error.message).toMatch(/reserved/);
    const unique = await call(base, 'POST', `/sites/${siteId}/lists/${listId}/columns`, {
      name: 'Email',
      text: {},
      enforceUniqueValues: true,
    });
    expect(unique.status).toBe(400);
    const columns = await call(base, 'GET', `/sites/${siteId}/lists/${listId}/columns`);
    for (const c of columns.json.value) expect(shapeViolations('columnDefinition', c)).toEqual([]);
  });

  it('items: create, 409 on a duplicate TwentyId, eTag changes, stale If-Match is 412, delete then 404', async () => {
    const items = `/sites/${siteId}/lists/${listId}/items`;
    const a = await call(base, 'POST', items, {
      fields: { Title: 'a', TwentyId: 'id-a', Code: 'x', Size: 1 },
    });
    expect(a.status).toBe(201);
    expect(shapeViolations('listItem', a.json)).toEqual([]);
    const dup = await call(base, 'POST', items, { fields: { Title: 'b', TwentyId: 'ID-A' } });
    expect(dup.status).toBe(409);
    const patched = await call(
      base,
      'PATCH',
      `${items}/${a.json.id}/fields`,
      { Size: 2 },
      { 'If-Match': a.json.eTag },
    );
    expect(patched.status).toBe(200);
    const stale = await call(
      base,
      'PATCH',
      `${items}/${a.json.id}/fields`,
      { Size: 3 },
      { 'If-Match': a.json.eTag },
    );
    expect(stale.status).toBe(412);
    expect((await call(base, 'DELETE', `${items}/${a.json.id}`)).status).toBe(204);
    expect((await call(base, 'DELETE', `${items}/${a.json.id}`)).status).toBe(404);
  });

  it('filters: indexed columns freely, others only with the Prefer header', async () => {
    const items = `/sites/${siteId}/lists/${listId}/items`;
    for (let i = 0; i < 5; i++)
      await call(base, 'POST', items, {
        fields: { Title: `t${i}`, TwentyId: `f-${i}`, Code: `c${i}`, Size: i },
      });
    const byIndexed = await call(
      base,
      'GET',
      `${items}?$expand=fields&$filter=${encodeURIComponent("fields/TwentyId eq 'f-1' or fields/Size ge 4")}`,
    );
    expect(byIndexed.json.value.map((i: any) => i.fields.TwentyId).sort()).toEqual(['f-1', 'f-4']);
    const nonIndexed = `${items}?$filter=${encodeURIComponent("fields/Code eq 'c2'")}&$expand=fields`;
    expect((await call(base, 'GET', nonIndexed)).status).toBe(400);
    const allowed = await call(base, 'GET', nonIndexed, undefined, {
      Prefer: 'HonorNonIndexedQueriesWarningMayFailRandomly',
    });
    expect(allowed.json.value).toHaveLength(1);
  });

  it('pages with an absolute nextLink and refuses more than 20 requests in a $batch', async () => {
    const first = await call(base, 'GET', `/sites/${siteId}/lists/${listId}/items?$top=2`);
    expect(first.json.value).toHaveLength(2);
    expect(first.json['@odata.nextLink']).toMatch(new RegExp(`^${base.replace(/[.?]/g, '\\$&')}/sites/`));
    const requests = Array.from({ length: 21 }, (_, i) => ({
      id: String(i),
      method: 'GET',
      url: `/sites/${siteId}`,
    }));
    expect((await call(base, 'POST', '/$batch', { requests })).status).toBe(400);
    const ok = await call(base, 'POST', '/$batch', { requests: requests.slice(0, 20) });
    expect(ok.json.responses).toHaveLength(20);
    // Answers come back shuffled (seeded), matched by id.
    expect(ok.json.responses.map((r: any) => r.id)).not.toEqual(requests.slice(0, 20).map((r) => r.id));
  });

  it('delta: a full pass ending in a deltaLink, then only changes, deletions with the deleted facet, 410 when expired', async () => {
    const site = emulator.site(SITE);
    const list = site.createList({ displayName: `Delta ${transport}`, columns: [{ name: 'V', number: {} }] });
    for (let i = 0; i < 5; i++) list.createItem({ Title: `d${i}`, V: i });
    const path = `/sites/${siteId}/lists/${list.id}/items/delta?$top=2&$expand=fields`;
    let page = await call(base, 'GET', path);
    const seen = new Set<string>();
    let deltaLink: string | undefined;
    for (;;) {
      for (const item of page.json.value) seen.add(item.id);
      if (page.json['@odata.deltaLink']) {
        deltaLink = page.json['@odata.deltaLink'];
        break;
      }
      page = await call('', 'GET', page.json['@odata.nextLink']);
    }
    expect(seen.size).toBe(5);
    const items = list.items();
    list.updateItem(items[0]!.id, { V: 100 });
    list.deleteItem(items[1]!.id);
    const changes = await call('', 'GET', deltaLink!);
    const byId = new Map<string, any>(changes.json.value.map((v: any) => [v.id, v]));
    expect(byId.get(items[0]!.id).fields.V).toBe(100);
    expect(byId.get(items[1]!.id).deleted).toEqual({ state: 'deleted' });
    expect(byId.size).toBe(2);
    emulator.expireDeltaTokens(list.id);
    expect((await call('', 'GET', changes.json['@odata.deltaLink'])).status).toBe(410);
  });

  it('throttles past the resource-unit budget: RateLimit headers first, then 429 with Retry-After', async () => {
    let sawRateLimit = false;
    for (let i = 0; i < 400; i++) {
      const r = await call(base, 'GET', `/sites/${siteId}/lists`);
      if (r.headers.get('ratelimit-remaining') !== null) sawRateLimit = true;
      if (r.status === 429) {
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(sawRateLimit).toBe(true);
        return;
      }
    }
    throw new Error('never throttled');
  });
});

describe('subscriptions (loopback)', () => {
  let emulator: Emulator;
  let base: string;
  let receiver: http.Server;
  let receiverUrl: string;
  const received: any[] = [];

  beforeAll(async () => {
    emulator = createEmulator({ sites: [SITE], notificationDelayMs: 10 });
    base = `${(await emulator.listen()).url}/v1.0`;
    receiver = http.createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      const token = url.searchParams.get('validationToken');
      if (token) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(token);
        return;
      }
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.writeHead(202);
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    await emulator.close();
    receiver.close();
  });

  it('validates the endpoint, notifies on item changes, refuses lifetimes beyond 42,300 minutes', async () => {
    const site = emulator.site(SITE);
    const list = site.createList({ displayName: 'Watched' });
    const resource = `sites/${site.id}/lists/${list.id}`;
    const tooLong = await call(base, 'POST', '/subscriptions', {
      changeType: 'updated',
      notificationUrl: receiverUrl,
      resource,
      expirationDateTime: new Date(Date.now() + 42_301 * 60_000).toISOString(),
      clientState: 'secret',
    });
    expect(tooLong.status).toBe(400);
    const created = await call(base, 'POST', '/subscriptions', {
      changeType: 'updated',
      notificationUrl: receiverUrl,
      resource,
      expirationDateTime: new Date(Date.now() + 60 * 60_000).toISOString(),
      clientState: 'secret',
    });
    expect(created.status).toBe(201);
    expect(shapeViolations('subscription', created.json)).toEqual([]);
    list.createItem({ Title: 'hello' });
    await waitFor(() => received.length > 0, { message: 'a notification' });
    expect(received[0].value[0]).toMatchObject({
      clientState: 'secret',
      resource,
      subscriptionId: created.json.id,
    });
    const renewed = await call(base, 'PATCH', `/subscriptions/${created.json.id}`, {
      expirationDateTime: new Date(Date.now() + 120 * 60_000).toISOString(),
    });
    expect(renewed.status).toBe(200);
    expect((await call(base, 'DELETE', `/subscriptions/${created.json.id}`)).status).toBe(204);
    expect(emulator.subscriptions()).toHaveLength(0);
  });
});
