import type { TokenCredential } from '../../src/graph/index.js';

export interface RecordedCall {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  redirect?: string;
  at: number;
}

/** A fetch stand-in that records every call and answers from `respond`. */
export function scriptedFetch(
  respond: (call: RecordedCall, index: number, signal?: AbortSignal) => Response | Promise<Response>,
) {
  const calls: RecordedCall[] = [];
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, key) => {
      headers[key] = value;
    });
    const call: RecordedCall = {
      url: String(input),
      method: init?.method ?? 'GET',
      headers,
      ...(typeof init?.body === 'string' ? { body: init.body } : {}),
      ...(init?.redirect ? { redirect: init.redirect } : {}),
      at: Date.now(),
    };
    calls.push(call);
    return respond(call, calls.length - 1, init?.signal ?? undefined);
  }) as typeof fetch;
  return { fetch: fetchImpl, calls };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

export function graphError(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return json(status, { error: { code, message, innerError: { 'request-id': 'req-1' } } }, headers);
}

/** A credential that hands out numbered tokens and counts calls. */
export function countingCredential(lifetimeMs = 3_600_000) {
  let calls = 0;
  const credential: TokenCredential & { readonly calls: number } = {
    get calls() {
      return calls;
    },
    async getToken() {
      calls++;
      await new Promise((r) => setTimeout(r, 5));
      return { token: `token-${calls}`, expiresOnTimestamp: Date.now() + lifetimeMs };
    },
  };
  return credential;
}

/** A logger that keeps every line, to scan it for secrets. */
export function capturingLogger() {
  const lines: string[] = [];
  const record = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    lines.push(`${level} ${message} ${fields ? JSON.stringify(fields) : ''}`);
  };
  return {
    lines,
    logger: { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') },
  };
}
