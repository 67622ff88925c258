import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The webhook receiver: one implementation of the body limit and of the delivery checks (validation
 * handshake, method, size, JSON shape, clientState), driven by two thin adapters — Node's `(req, res)` and
 * fetch-style `Request → Response`. Both read the body as a stream and stop at the limit.
 */

export interface WebhookAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Every answer: nothing in it is meant to be interpreted as anything but what it says. */
const NOSNIFF = { 'X-Content-Type-Options': 'nosniff' };

const answer = (status: number, headers: Record<string, string> = {}, body = ''): WebhookAnswer => ({
  status,
  headers: { ...NOSNIFF, ...headers },
  body,
});

export const TOO_LARGE: WebhookAnswer = answer(413);

export interface ReceiverOptions {
  maxBodyBytes: number;
  clientState: string;
  /** Called once per refused delivery whose clientState did not prove it comes from Graph. */
  onForged(): void;
}

/** Counts a body's bytes as they arrive and keeps them only while under the limit. */
export class LimitedBody {
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly max: number) {}

  /** Adds a chunk; false once the body is over the limit (stop reading, answer 413). */
  add(chunk: Uint8Array | string): boolean {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk);
    this.size += buffer.length;
    if (this.size > this.max) {
      this.chunks.length = 0;
      return false;
    }
    this.chunks.push(buffer);
    return true;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

export class WebhookReceiver {
  private readonly expected: Buffer;

  constructor(private readonly options: ReceiverOptions) {
    this.expected = digest(options.clientState);
  }

  /**
   * What can be answered before a byte of the body is read: Graph's validation handshake, a method other
   * than POST, a declared `Content-Length` over the limit. `undefined`: read the body.
   */
  early(method: string, url: string, declaredLength: string | null | undefined): WebhookAnswer | undefined {
    const token = new URL(url, 'http://localhost').searchParams.get('validationToken');
    // Graph wants the decoded token back as text/plain within 10 s; nosniff keeps a browser from reading
    // an attacker-chosen token as HTML.
    if (token !== null) return answer(200, { 'Content-Type': 'text/plain; charset=utf-8' }, token);
    if (method.toUpperCase() !== 'POST') return answer(405, { Allow: 'POST' });
    const declared = Number(declaredLength ?? 0);
    if (Number.isFinite(declared) && declared > this.options.maxBodyBytes) return TOO_LARGE;
    return undefined;
  }

  body(): LimitedBody {
    return new LimitedBody(this.options.maxBodyBytes);
  }

  /**
   * The delivery once its body is read. Graph's `changeNotificationCollection.value` is required and every
   * notification carries the subscription's `clientState`: a delivery where any entry lacks the secret —
   * an empty list included, which proves nothing about its origin — is refused like a forged one (403).
   */
  deliver(body: string): { answer: WebhookAnswer; resources: string[] } {
    let parsed: { value?: unknown } | undefined;
    try {
      parsed = JSON.parse(body) as { value?: unknown };
    } catch {
      return { answer: answer(400), resources: [] };
    }
    if (!Array.isArray(parsed?.value)) return { answer: answer(400), resources: [] };
    const notifications: unknown[] = parsed.value;
    const authentic =
      notifications.length > 0 &&
      notifications.every((n) => {
        const clientState = (n as { clientState?: unknown } | null)?.clientState;
        return typeof clientState === 'string' && timingSafeEqual(digest(clientState), this.expected);
      });
    if (!authentic) {
      this.options.onForged();
      return { answer: answer(403), resources: [] };
    }
    return {
      answer: answer(202),
      resources: notifications.map((n) => String((n as { resource?: unknown }).resource ?? '')),
    };
  }
}

export type WebhookHandler = ((req: IncomingMessage, res: ServerResponse) => void) & {
  fetch(request: Request): Promise<Response>;
};

/** Both adapters over one receiver; `accepted` gets the resources of every accepted delivery. */
export function webhookHandler(
  receiver: WebhookReceiver,
  accepted: (resources: string[]) => void,
): WebhookHandler {
  const node = (req: IncomingMessage, res: ServerResponse) => {
    const send = (reply: WebhookAnswer) => {
      if (res.headersSent) return;
      // A body left unread is not drained: the connection closes after the answer instead.
      const close = req.complete ? {} : { Connection: 'close' };
      res.writeHead(reply.status, { ...reply.headers, ...close }).end(reply.body);
    };
    const early = receiver.early(req.method ?? 'POST', req.url ?? '/', req.headers['content-length']);
    if (early) {
      send(early);
      return;
    }
    const body = receiver.body();
    const onData = (chunk: Buffer) => {
      if (body.add(chunk)) return;
      req.off('data', onData);
      req.off('end', onEnd);
      req.pause();
      send(TOO_LARGE);
    };
    const onEnd = () => {
      const delivery = receiver.deliver(body.text());
      send(delivery.answer);
      if (delivery.answer.status === 202) accepted(delivery.resources);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    // The sender went away mid-body: nothing to answer, nothing to do.
    req.on('error', () => {});
  };

  const fetchHandler = async (request: Request): Promise<Response> => {
    const respond = (reply: WebhookAnswer) =>
      new Response(reply.body || null, { status: reply.status, headers: reply.headers });
    const early = receiver.early(request.method, request.url, request.headers.get('content-length'));
    if (early) {
      request.body?.cancel().catch(() => {});
      return respond(early);
    }
    const body = receiver.body();
    if (request.body) {
      const reader = request.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (!body.add(value)) {
          // Stop the sender's stream now: nothing past the limit is read.
          reader.cancel().catch(() => {});
          return respond(TOO_LARGE);
        }
      }
    }
    const delivery = receiver.deliver(body.text());
    if (delivery.answer.status === 202) accepted(delivery.resources);
    return respond(delivery.answer);
  };

  return Object.assign(node, { fetch: fetchHandler });
}
