import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GraphClient, GraphError } from '../../src/graph/index.js';
import { createEmulator, type Emulator, type EmulatorList } from '../../src/testing/index.js';
import { waitFor } from '../support/wait.js';

/** The gateway's rules, proven over real HTTP against the loopback emulator. */
const SITE = 'contoso.sharepoint.com:/sites/gateway';

let emulator: Emulator;
let url: string;
let list: EmulatorList;
let itemsPath: string;

const client = (extra: ConstructorParameters<typeof GraphClient>[0] = {}) =>
  new GraphClient({
    baseUrl: `${url}/v1.0`,
    retry: { attempts: 4, minDelayMs: 5, maxDelayMs: 50 },
    budget: { resourceUnitsPerMinute: 1_000_000 },
    ...extra,
  });

beforeAll(async () => {
  emulator = createEmulator({ sites: [SITE], seed: 3, shuffleBatchResponses: true });
  ({ url } = await emulator.listen());
  const site = emulator.site(SITE);
  list = site.createList({
    displayName: 'Gateway',
    columns: [{ name: 'Code', text: { maxLength: 20 }, indexed: true }],
  });
  for (let i = 0; i < 30; i++) list.createItem({ Title: `item ${i}`, Code: `c${i}` });
  itemsPath = `/sites/${site.id}/lists/${list.id}/items`;
});

afterEach(() => {
  emulator.faults.clear();
  emulator.log.reset();
});

afterAll(async () => {
  await emulator.close();
});

describe('GraphClient against the emulator', () => {
  it('waits at least Retry-After after a 429, then succeeds', async () => {
    emulator.faults.inject({
      method: 'GET',
      path: /\/items\/1$/,
      status: 429,
      retryAfterSeconds: 1,
      count: 1,
    });
    const started = Date.now();
    const item = await client().get<{ id: string }>(`${itemsPath}/1`);
    expect(item.id).toBe('1');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(emulator.log.entries.filter((e) => e.path.endsWith('/items/1'))).toHaveLength(2);
  });

  it('turns 25 requests into 2 $batch calls and matches shuffled answers by id', async () => {
    const ids = list
      .items()
      .slice(0, 25)
      .map((i) => i.id);
    const results = await client().batch<{ id: string }>(
      ids.map((id) => ({ method: 'GET', path: `${itemsPath}/${id}` })),
    );
    const outer = emulator.log.entries.filter((e) => !e.inBatch);
    expect(outer.map((e) => e.path)).toEqual(['/$batch', '/$batch']);
    expect(emulator.log.counters().batchRequests).toBe(25);
    expect(results.map((r) => (r.ok ? r.body.id : `error ${r.status}`))).toEqual(ids);
  });

  it('retries only the inner requests that failed, honouring their Retry-After', async () => {
    emulator.faults.inject({
      path: /\/items\/3$/,
      scope: 'inner',
      status: 503,
      retryAfterSeconds: 1,
      count: 2,
    });
    const ids = ['1', '2', '3', '4'];
    const started = Date.now();
    const results = await client().batch<{ id: string }>(
      ids.map((id) => ({ method: 'GET', path: `${itemsPath}/${id}` })),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    const inner = emulator.log.entries.filter((e) => e.inBatch);
    const count = (id: string) => inner.filter((e) => e.path.endsWith(`/items/${id}`)).length;
    expect([count('1'), count('2'), count('3'), count('4')]).toEqual([1, 1, 3, 1]);
  });

  it('a partial failure fails only its own request', async () => {
    const results = await client().batch([
      { method: 'GET', path: `${itemsPath}/1` },
      { method: 'GET', path: `${itemsPath}/999999` },
    ]);
    expect(results[0]!.ok).toBe(true);
    expect(results[1]).toMatchObject({ ok: false, status: 404 });
  });

  it('follows every nextLink of the emulator', async () => {
    const seen: string[] = [];
    for await (const page of client().pages<{ id: string }>(itemsPath, { query: { $top: 7 } })) {
      seen.push(...page.value.map((i) => i.id));
    }
    // Every item once (other tests of this file may have added items).
    expect(seen).toHaveLength(list.items().length);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThanOrEqual(30);
  });

  it('refuses a nextLink that points at another origin (the token never travels)', async () => {
    const credential = {
      getToken: async () => ({ token: 'tok-123', expiresOnTimestamp: Date.now() + 3600_000 }),
    };
    const forwarded: string[] = [];
    // Real HTTP to the emulator; only the nextLink in the answer is rewritten to a foreign host.
    const rewriting: typeof fetch = async (input, init) => {
      forwarded.push(String(input));
      const response = await fetch(input, init);
      const body = await response.json();
      if (body['@odata.nextLink'])
        body['@odata.nextLink'] = String(body['@odata.nextLink']).replace(url, 'https://evil.example');
      return new Response(JSON.stringify(body), { status: response.status, headers: response.headers });
    };
    const pages = client({ credential, fetch: rewriting }).pages(itemsPath, { query: { $top: 5 } });
    let error: unknown;
    try {
      for await (const _page of pages) {
        // the first page arrives; its nextLink is refused before any request leaves
      }
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GraphError);
    expect((error as GraphError).code).toBe('foreignNextLink');
    expect(forwarded.every((u) => u.startsWith(url))).toBe(true);
  });

  it('surfaces a lost response after commit as retryable, and the write did happen', async () => {
    emulator.faults.inject({ method: 'POST', path: /\/items$/, lostResponse: true, count: 1 });
    const error = await client()
      .request({ method: 'POST', path: itemsPath, body: { fields: { Title: 'lost', Code: 'lost-1' } } })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(GraphError);
    expect((error as GraphError).retryable).toBe(true);
    expect(list.items().filter((i) => i.fields.Code === 'lost-1')).toHaveLength(1);
  });

  it('retries a dropped connection for a GET and succeeds', async () => {
    emulator.faults.inject({ method: 'GET', path: /\/items\/2$/, drop: true, count: 2 });
    const item = await client().get<{ id: string }>(`${itemsPath}/2`);
    expect(item.id).toBe('2');
  });

  it('times out a slow answer and retries it', async () => {
    emulator.faults.inject({ method: 'GET', path: /\/items\/4$/, latencyMs: 3000, count: 1 });
    const item = await client({ timeoutMs: 1000 }).get<{ id: string }>(`${itemsPath}/4`);
    expect(item.id).toBe('4');
    // The emulator answers the abandoned attempt after its latency: wait for that, or it lands in the log of
    // whichever test runs next.
    const slow = await waitFor(() => emulator.log.entries.find((e) => e.fault === 'latency:3000'), {
      message: 'the abandoned slow attempt to end',
    });
    expect(slow.path).toMatch(/\/items\/4$/);
  });

  it('keeps the token and the secret out of errors after every retry fails', async () => {
    const secret = 'Zx8Q~TopSecretClientSecretValue0123456';
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNlY3JldA';
    const credential = { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3600_000 }) };
    emulator.faults.inject({ status: 503 });
    const error = await client({ credential, retry: { attempts: 2, minDelayMs: 1, maxDelayMs: 2 } })
      .get(`${itemsPath}/1?secret=${encodeURIComponent(secret)}`)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(GraphError);
    const text = `${String(error)} ${JSON.stringify(error)} ${(error as Error).stack}`;
    expect(text).not.toContain(token);
    expect(text).not.toContain(secret);
  });

  it('paces requests under a small resource-unit budget (rolling window)', async () => {
    // 12 single-item GETs (1 RU each) against 10 RU per 1-second window: two must wait for the window to roll.
    const paced = client({ budget: { resourceUnitsPerMinute: 10, windowMs: 1000 } });
    const started = Date.now();
    await Promise.all(Array.from({ length: 12 }, (_, i) => paced.get(`${itemsPath}/${(i % 5) + 1}`)));
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(900);
    // A window of a minute would take ~60 s; the bound leaves room for a loaded machine.
    expect(elapsed).toBeLessThan(30_000);
    expect(emulator.log.counters().requests).toBe(12);
  });
});
