import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../src/graph/errors.js';
import {
  GraphClient,
  GraphError,
  odataString,
  resourceUnitCost,
  type TokenCredential,
} from '../../src/graph/index.js';
import { capturingLogger, countingCredential, graphError, json, scriptedFetch } from './helpers.js';

const BASE = 'https://graph.example.test/v1.0';
const fast = { attempts: 3, minDelayMs: 5, maxDelayMs: 20 };

async function caught(promise: Promise<unknown>): Promise<GraphError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(GraphError);
    return error as GraphError;
  }
  throw new Error('expected a GraphError');
}

describe('odataString', () => {
  it('quotes and doubles single quotes', () => {
    expect(odataString("O'Brien")).toBe("'O''Brien'");
    expect(odataString("'")).toBe("''''");
    expect(odataString('')).toBe("''");
    expect(odataString("a' or fields/X eq 'b")).toBe("'a'' or fields/X eq ''b'");
  });
});

describe('resourceUnitCost', () => {
  it('charges what docs/graph.md (Pacing) says', () => {
    expect(resourceUnitCost('GET', '/sites/contoso.sharepoint.com:/sites/crm')).toBe(1);
    expect(resourceUnitCost('GET', '/sites/s1/lists/l1/items/7')).toBe(1);
    expect(resourceUnitCost('GET', '/sites/s1/lists/l1/items/7?$expand=fields')).toBe(1);
    expect(resourceUnitCost('GET', '/sites/s1/lists/l1/items?$expand=fields&$top=5000')).toBe(2);
    expect(resourceUnitCost('GET', "/sites/s1/lists/l1/items?$filter=fields/TwentyId eq 'x'")).toBe(2);
    expect(resourceUnitCost('GET', '/sites/s1/lists')).toBe(2);
    expect(resourceUnitCost('GET', '/sites/s1/lists/l1/columns')).toBe(2);
    expect(resourceUnitCost('GET', '/sites/s1/lists/l1/items/delta')).toBe(2);
    expect(resourceUnitCost('GET', '/sites/s1/lists/l1/items/delta?token=abc')).toBe(1);
    expect(resourceUnitCost('POST', '/sites/s1/lists/l1/items')).toBe(2);
    expect(resourceUnitCost('PATCH', '/sites/s1/lists/l1/items/7/fields')).toBe(2);
    expect(resourceUnitCost('DELETE', '/sites/s1/lists/l1/items/7')).toBe(2);
    expect(resourceUnitCost('POST', '/sites/s1/permissions')).toBe(5);
    expect(resourceUnitCost('POST', '/$batch')).toBe(0);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter('1.5')).toBe(1500);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:03 GMT', now)).toBe(3000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

// The limiter's own tests (token bucket, daily limit, shared ledger): test/graph/limiter.test.ts.

describe('GraphClient auth', () => {
  it('reuses one token for many requests and fetches it once for concurrent callers', async () => {
    const credential = countingCredential();
    const { fetch, calls } = scriptedFetch(() => json(200, { id: 'x' }));
    const graph = new GraphClient({ baseUrl: BASE, credential, fetch });
    await Promise.all(Array.from({ length: 15 }, () => graph.get('/sites/s1')));
    await graph.get('/sites/s1');
    expect(credential.calls).toBe(1);
    expect(calls).toHaveLength(16);
    expect(new Set(calls.map((c) => c.headers.authorization))).toEqual(new Set(['Bearer token-1']));
  });

  it('fetches a new token when the cached one is within 5 minutes of expiry', async () => {
    const credential = countingCredential(4 * 60_000);
    const { fetch } = scriptedFetch(() => json(200, {}));
    const graph = new GraphClient({ baseUrl: BASE, credential, fetch });
    await graph.get('/sites/s1');
    await graph.get('/sites/s1');
    expect(credential.calls).toBe(2);
  });

  it('sends no Authorization header without a credential', async () => {
    const { fetch, calls } = scriptedFetch(() => json(200, {}));
    await new GraphClient({ baseUrl: BASE, fetch }).get('/sites/s1');
    expect(calls[0]!.headers.authorization).toBeUndefined();
  });

  it('answers a 401 with one token refresh and one retry', async () => {
    const credential = countingCredential();
    const { fetch, calls } = scriptedFetch((call) =>
      call.headers.authorization === 'Bearer token-1'
        ? graphError(401, 'InvalidAuthenticationToken', 'expired')
        : json(200, { ok: 1 }),
    );
    const graph = new GraphClient({ baseUrl: BASE, credential, fetch, retry: fast });
    await expect(graph.get('/sites/s1')).resolves.toEqual({ ok: 1 });
    expect(credential.calls).toBe(2);
    expect(calls.map((c) => c.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
  });

  it('gives up after the second 401', async () => {
    const credential = countingCredential();
    const { fetch, calls } = scriptedFetch(() => graphError(401, 'InvalidAuthenticationToken', 'no'));
    const graph = new GraphClient({ baseUrl: BASE, credential, fetch, retry: fast });
    const error = await caught(graph.get('/sites/s1'));
    expect(error.status).toBe(401);
    expect(calls).toHaveLength(2);
    expect(credential.calls).toBe(2);
  });

  it('never retries a 403', async () => {
    const credential = countingCredential();
    const { fetch, calls } = scriptedFetch(() => graphError(403, 'accessDenied', 'Access denied'));
    const graph = new GraphClient({ baseUrl: BASE, credential, fetch, retry: fast });
    const error = await caught(graph.get('/sites/s1'));
    expect(error).toMatchObject({
      status: 403,
      code: 'accessDenied',
      retryable: false,
      requestId: 'req-1',
      method: 'GET',
      path: '/sites/s1',
    });
    expect(calls).toHaveLength(1);
    expect(credential.calls).toBe(1);
  });
});

describe('GraphClient secrets', () => {
  const clientSecret = 'Zx8Q~AbCdEfGhIjKlMnOpQrStUvWxYz0123456789';
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhcHAifQ.c2lnbmF0dXJlLXZhbHVl';
  const opaqueToken = 'tok3n-Opaque-9f8e7d6c5b4a39281716151413121110';

  function leaks(text: string): string[] {
    return [clientSecret, jwt, opaqueToken, 'Zx8Q~', 'c2lnbmF0dXJl'].filter((s) => text.includes(s));
  }

  function scan(error: unknown, lines: string[]) {
    const texts = [
      (error as Error).message,
      String(error),
      (error as Error).stack ?? '',
      JSON.stringify(error),
      inspect(error, { depth: 5 }),
      ...lines,
    ];
    for (const text of texts) expect(leaks(text), text).toEqual([]);
  }

  it('keeps a secret and a token quoted by a failing credential out of errors and logs', async () => {
    const credential: TokenCredential = {
      async getToken() {
        throw new Error(
          `AADSTS7000215: Invalid client secret provided. Request body: grant_type=client_credentials&client_secret=${clientSecret}&scope=x ` +
            `(previous Authorization: Bearer ${jwt}; cached access_token: ${opaqueToken}; raw ${jwt} ${clientSecret})`,
        );
      },
    };
    const { logger, lines } = capturingLogger();
    const { fetch, calls } = scriptedFetch(() => json(200, {}));
    const graph = new GraphClient({ baseUrl: BASE, credential, fetch, logger, retry: fast });
    const error = await caught(graph.get('/sites/s1'));
    expect(error).toMatchObject({ status: 0, code: 'authenticationFailed', retryable: false });
    expect(error.message).toContain('AADSTS7000215');
    expect(calls).toHaveLength(0);
    scan(error, lines);

    const [result] = await graph.batch([{ method: 'GET', path: '/sites/s1' }]);
    expect(result!.ok).toBe(false);
    if (!result!.ok) scan(result!.error, lines);
  });

  it('scrubs the current token when Graph or the network echoes it', async () => {
    const credential: TokenCredential = {
      getToken: async () => ({ token: opaqueToken, expiresOnTimestamp: Date.now() + 3_600_000 }),
    };
    const { logger, lines } = capturingLogger();
    const { fetch } = scriptedFetch((_call, index) => {
      if (index === 0) {
        throw new TypeError(`fetch failed: header Authorization=Bearer ${opaqueToken}`, {
          cause: Object.assign(new Error(`reset while sending ${opaqueToken}`), { code: 'ECONNRESET' }),
        });
      }
      return graphError(400, 'invalidRequest', `Token ${opaqueToken} is not valid for this resource`);
    });
    const graph = new GraphClient({ baseUrl: BASE, credential, fetch, logger, retry: fast });
    const error = await caught(graph.get('/sites/s1'));
    expect(error.status).toBe(400);
    expect(lines.length).toBeGreaterThan(0);
    scan(error, lines);
  });
});

describe('GraphClient retries', () => {
  it('retries 503/504 with backoff and then succeeds', async () => {
    const { fetch, calls } = scriptedFetch((_c, i) =>
      i === 0
        ? graphError(503, 'serviceNotAvailable', 'busy')
        : i === 1
          ? graphError(504, 'gatewayTimeout', 'slow')
          : json(200, { v: 1 }),
    );
    const graph = new GraphClient({ baseUrl: BASE, fetch, retry: fast });
    await expect(graph.get('/sites/s1')).resolves.toEqual({ v: 1 });
    expect(calls).toHaveLength(3);
    expect(graph.stats()).toMatchObject({ requests: 3, retries: 2, throttled: 1, resourceUnits: 3 });
  });

  it('does not retry other 4xx or a 500', async () => {
    for (const status of [400, 404, 409, 412, 500]) {
      const { fetch, calls } = scriptedFetch(() => graphError(status, 'x', 'no'));
      const error = await caught(new GraphClient({ baseUrl: BASE, fetch, retry: fast }).get('/sites/s1'));
      expect(error.status).toBe(status);
      expect(calls).toHaveLength(1);
    }
  });

  it('stops after the configured attempts with a retryable error carrying Retry-After', async () => {
    const { fetch, calls } = scriptedFetch(() =>
      graphError(429, 'tooManyRequests', 'slow down', { 'Retry-After': '0' }),
    );
    const error = await caught(new GraphClient({ baseUrl: BASE, fetch, retry: fast }).get('/sites/s1'));
    expect(error).toMatchObject({ status: 429, retryable: true, retryAfterMs: 0 });
    expect(calls).toHaveLength(3);
  });

  it('honours Retry-After given as an HTTP date', async () => {
    const { fetch, calls } = scriptedFetch((_c, i) =>
      i === 0
        ? graphError(503, 'serviceNotAvailable', 'busy', {
            'Retry-After': new Date(Date.now() + 2000).toUTCString(),
          })
        : json(200, {}),
    );
    const started = Date.now();
    await new GraphClient({ baseUrl: BASE, fetch, retry: fast }).get('/sites/s1');
    expect(calls).toHaveLength(2);
    expect(calls[1]!.at - started).toBeGreaterThanOrEqual(1000);
  });

  it('times out each attempt; retries a GET but not a plain POST', async () => {
    const hang = (_c: unknown, _i: number, signal?: AbortSignal) =>
      new Promise<Response>((_resolve, reject) =>
        signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))),
      );
    const get = scriptedFetch(hang);
    const getError = await caught(
      new GraphClient({
        baseUrl: BASE,
        fetch: get.fetch,
        timeoutMs: 30,
        retry: { ...fast, attempts: 2 },
      }).get('/sites/s1'),
    );
    expect(getError).toMatchObject({ status: 0, code: 'timeout', retryable: true });
    expect(get.calls).toHaveLength(2);

    const post = scriptedFetch(hang);
    const graph = new GraphClient({ baseUrl: BASE, fetch: post.fetch, timeoutMs: 30, retry: fast });
    const postError = await caught(graph.post('/sites/s1/lists/l1/items', { fields: { Title: 'a' } }));
    expect(postError).toMatchObject({ status: 0, code: 'timeout', retryable: true, method: 'POST' });
    expect(post.calls).toHaveLength(1);

    const idempotent = scriptedFetch(hang);
    const again = new GraphClient({ baseUrl: BASE, fetch: idempotent.fetch, timeoutMs: 30, retry: fast });
    await caught(again.post('/sites/s1/lists/l1/items', { fields: { Title: 'a' } }, { idempotent: true }));
    expect(idempotent.calls).toHaveLength(3);
  });

  it('resends even a plain POST when the connection was refused (it never arrived)', async () => {
    const { fetch, calls } = scriptedFetch((_c, i) => {
      if (i === 0)
        throw new TypeError('fetch failed', {
          cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
        });
      return json(201, { id: '1' });
    });
    await expect(
      new GraphClient({ baseUrl: BASE, fetch, retry: fast }).post('/sites/s1/lists/l1/items', {}),
    ).resolves.toEqual({ id: '1' });
    expect(calls).toHaveLength(2);
  });

  it('does not follow redirects (the token stays on the Graph origin)', async () => {
    const { fetch, calls } = scriptedFetch(
      () => new Response(null, { status: 302, headers: { location: 'https://elsewhere.test/x' } }),
    );
    const error = await caught(new GraphClient({ baseUrl: BASE, fetch, retry: fast }).get('/sites/s1'));
    expect(error).toMatchObject({ status: 302, code: 'unexpectedRedirect', retryable: false });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.redirect).toBe('manual');
  });

  it('slows down on RateLimit headers', async () => {
    const { fetch, calls } = scriptedFetch(() =>
      json(200, {}, { 'RateLimit-Limit': '100', 'RateLimit-Remaining': '5', 'RateLimit-Reset': '1' }),
    );
    const graph = new GraphClient({ baseUrl: BASE, fetch });
    for (let i = 0; i < 3; i++) await graph.get('/sites/s1'); // 1 RU each, 1 s / 5 RU → 200 ms apart
    expect(calls[2]!.at - calls[1]!.at).toBeGreaterThanOrEqual(180);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(180);
  });

  it('builds URLs from path and query, keeping OData names and encoding values', async () => {
    const { fetch, calls } = scriptedFetch(() => json(200, { value: [] }));
    const graph = new GraphClient({ baseUrl: `${BASE}/`, fetch });
    expect(graph.baseUrl).toBe(BASE);
    await graph.get('/sites/s1/lists/l1/items?$expand=fields', {
      query: { $filter: `fields/TwentyId eq ${odataString("O'Brien & co")}`, $top: 5, skip: undefined },
    });
    const url = new URL(calls[0]!.url);
    expect(url.pathname).toBe('/v1.0/sites/s1/lists/l1/items');
    expect(url.searchParams.get('$filter')).toBe("fields/TwentyId eq 'O''Brien & co'");
    expect(url.searchParams.get('$top')).toBe('5');
    expect(url.searchParams.get('$expand')).toBe('fields');
    expect(url.searchParams.has('skip')).toBe(false);
  });

  it('keeps query values out of error paths', async () => {
    const { fetch } = scriptedFetch(() => graphError(400, 'invalidRequest', 'bad'));
    const error = await caught(
      new GraphClient({ baseUrl: BASE, fetch }).get('/sites/s1/lists/l1/items', {
        query: { $filter: "fields/Secret eq 'hunter2'" },
      }),
    );
    expect(error.path).toBe('/sites/s1/lists/l1/items?$filter');
    expect(error.message).not.toContain('hunter2');
  });
});

describe('GraphClient $batch (scripted)', () => {
  it('after a lost $batch answer resends GETs and idempotent POSTs, not plain POSTs', async () => {
    const { fetch, calls } = scriptedFetch((call, index) => {
      if (index === 0)
        throw new TypeError('fetch failed', {
          cause: Object.assign(new Error('socket'), { code: 'UND_ERR_SOCKET' }),
        });
      const { requests } = JSON.parse(call.body!) as { requests: Array<{ id: string }> };
      return json(200, {
        responses: requests.map((r) => ({ id: r.id, status: 200, headers: {}, body: { echo: r.id } })),
      });
    });
    const graph = new GraphClient({ baseUrl: BASE, fetch, retry: fast });
    const results = await graph.batch([
      { method: 'GET', path: '/sites/s1/lists/l1/items/1' },
      { method: 'POST', path: '/sites/s1/lists/l1/items', body: { fields: { Title: 'a' } } },
      {
        method: 'POST',
        path: '/sites/s1/lists/l1/items',
        body: { fields: { Title: 'b' } },
        idempotent: true,
      },
    ]);
    expect(results[0]).toMatchObject({ ok: true, body: { echo: '0' } });
    expect(results[1]).toMatchObject({
      ok: false,
      status: 0,
      error: { code: 'networkError', retryable: true, method: 'POST' },
    });
    expect(results[2]).toMatchObject({ ok: true, body: { echo: '2' } });
    expect(calls).toHaveLength(2);
    const resent = (JSON.parse(calls[1]!.body!) as { requests: Array<{ id: string; url: string }> }).requests;
    expect(resent.map((r) => r.id)).toEqual(['0', '2']);
    expect(resent[0]!.url).toBe('/sites/s1/lists/l1/items/1');
  });

  it("splits a $batch so that no call costs more than the budget's burst (units spread, not owed)", async () => {
    const { fetch, calls } = scriptedFetch((call) => {
      const { requests } = JSON.parse(call.body!) as { requests: Array<{ id: string }> };
      return json(200, { responses: requests.map((r) => ({ id: r.id, status: 201, body: {} })) });
    });
    // 20 creates of 2 RU each: 40 RU, while a burst of 10 RU is all the bucket holds at once.
    const graph = new GraphClient({
      baseUrl: BASE,
      fetch,
      budget: { resourceUnitsPerMinute: 6000, burst: 10 },
    });
    const results = await graph.batch(
      Array.from({ length: 20 }, (_, i) => ({
        method: 'POST' as const,
        path: '/sites/s1/lists/l1/items',
        body: { fields: { Title: `t${i}` } },
      })),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    const sizes = calls.map((c) => (JSON.parse(c.body!) as { requests: unknown[] }).requests.length);
    expect(sizes).toEqual([5, 5, 5, 5]);
  });

  it('reports a request on a foreign origin without sending it', async () => {
    const { fetch, calls } = scriptedFetch((call) => {
      const { requests } = JSON.parse(call.body!) as { requests: Array<{ id: string }> };
      return json(200, { responses: requests.map((r) => ({ id: r.id, status: 204 })) });
    });
    const results = await new GraphClient({ baseUrl: BASE, fetch }).batch([
      { method: 'DELETE', path: 'https://evil.test/v1.0/sites/s1' },
      { method: 'DELETE', path: '/sites/s1/lists/l1/items/3' },
    ]);
    expect(results[0]).toMatchObject({ ok: false, error: { code: 'foreignNextLink' } });
    expect(results[1]).toMatchObject({ ok: true, status: 204 });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.body).not.toContain('evil.test');
  });
});
