import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { type Incoming, MAX_FORM_BYTES, type Reply } from './reply.js';

// The two ways a console is served: a node `http` handler (Express, Fastify's `raw`, NestJS) and fetch.

type Answer = (request: Incoming) => Promise<Reply>;

/** Reads a node request's body up to `MAX_FORM_BYTES` (undefined beyond it, or on a broken stream). */
function readNodeBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > MAX_FORM_BYTES) {
        over = true;
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(undefined));
  });
}

export function nodeHandler(answer: Answer): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const headers: Record<string, string | undefined> = {};
    const { originalUrl } = req as IncomingMessage & { originalUrl?: unknown };
    for (const [name, value] of Object.entries(req.headers))
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    const incoming: Incoming = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      // Express's `app.use(path, handler)` cuts `path` off `req.url` and keeps the request's own in `originalUrl`.
      originalUrl: typeof originalUrl === 'string' ? originalUrl : undefined,
      headers,
      secure: Boolean((req.socket as TLSSocket).encrypted) || headers['x-forwarded-proto'] === 'https',
      readBody: () => readNodeBody(req),
    };
    answer(incoming).then((reply) => {
      if (res.headersSent) return;
      res
        .writeHead(reply.status, { ...reply.headers, ...(req.complete ? {} : { Connection: 'close' }) })
        .end(reply.body);
    });
  };
}

/** Reads a fetch request's body up to `MAX_FORM_BYTES` (undefined beyond it). */
async function readFetchBody(request: Request): Promise<string | undefined> {
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_FORM_BYTES) {
      reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function fetchHandler(answer: Answer): (request: Request) => Promise<Response> {
  return async (request) => {
    const headers: Record<string, string | undefined> = {};
    request.headers.forEach((value, name) => {
      headers[name.toLowerCase()] = value;
    });
    const url = new URL(request.url);
    const reply = await answer({
      method: request.method,
      url: `${url.pathname}${url.search}`,
      headers,
      secure: url.protocol === 'https:',
      readBody: () => readFetchBody(request),
    });
    return new Response(reply.body || null, { status: reply.status, headers: reply.headers });
  };
}
