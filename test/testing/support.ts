// biome-ignore-all lint/suspicious/noExplicitAny: JSON read off the wire, asserted field by field
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll } from 'vitest';
import { createEmulator, type Emulator, type EmulatorOptions } from '../../src/testing/index.js';

export const SITE = 'contoso.sharepoint.com:/sites/emu';
export const SITE_PATH = '/sites/contoso.sharepoint.com:/sites/emu';

/** How a test reaches the emulator: msw in the test process, or a real socket on loopback. */
export interface Transport {
  name: 'msw' | 'loopback';
  /** Serves `emulator`; resolves the Graph base URL (ending in `/v1.0`) and a stop function. */
  start(emulator: Emulator): Promise<{ base: string; stop: () => Promise<void> }>;
}

/**
 * msw patches the process's fetch once: every emulator of a file shares one server, the newest emulator's
 * handlers first, so a test can start a second emulator while the describe's own one is served.
 */
let mswServer: ReturnType<typeof setupServer> | undefined;
const mswStack: Emulator[] = [];

export const mswTransport: Transport = {
  name: 'msw',
  async start(emulator) {
    if (!mswServer) {
      mswServer = setupServer();
      mswServer.listen({ onUnhandledRequest: 'bypass' });
    }
    mswStack.unshift(emulator);
    mswServer.resetHandlers(...mswStack.flatMap((e) => e.handlers));
    return {
      base: 'https://graph.microsoft.com/v1.0',
      stop: async () => {
        mswStack.splice(mswStack.indexOf(emulator), 1);
        mswServer?.resetHandlers(...mswStack.flatMap((e) => e.handlers));
        if (mswStack.length === 0) {
          mswServer?.close();
          mswServer = undefined;
        }
      },
    };
  },
};

export const loopbackTransport: Transport = {
  name: 'loopback',
  async start(emulator) {
    const server = await emulator.listen();
    return { base: `${server.url}/v1.0`, stop: () => server.close() };
  },
};

export interface Reply {
  status: number;
  headers: Headers;
  json: any;
}

/** One HTTP call with plain fetch; `path` is appended to `base` (pass '' as base for an absolute link). */
export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
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

export interface EmulatorContext {
  emulator: Emulator;
  base: string;
  siteId: string;
  /** `call` bound to this emulator's base URL. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
}

/** Creates an emulator for the enclosing `describe`, served over `transport`, closed after it. */
export function useEmulator(transport: Transport, options: Partial<EmulatorOptions> = {}): EmulatorContext {
  const context = {} as EmulatorContext;
  let stop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    context.emulator = createEmulator({ sites: [SITE], seed: 7, ...options });
    const started = await transport.start(context.emulator);
    stop = started.stop;
    context.base = started.base;
    context.call = (method, path, body, headers) => call(context.base, method, path, body, headers);
    context.siteId = context.emulator.site(SITE).id;
  });
  afterAll(async () => {
    await stop?.();
    await context.emulator?.close();
  });
  return context;
}

/** Follows `@odata.nextLink` from `first` to the end; returns every page. */
export async function allPages(first: Reply): Promise<Reply[]> {
  const pages = [first];
  let page = first;
  while (page.json['@odata.nextLink']) {
    page = await call('', 'GET', page.json['@odata.nextLink']);
    pages.push(page);
  }
  return pages;
}

/** A tiny webhook receiver: echoes validation tokens (unless told not to) and records notifications. */
export interface Receiver {
  url: string;
  validations: string[];
  notifications: any[];
  close(): Promise<void>;
}

export async function startReceiver({ echo = true }: { echo?: boolean } = {}): Promise<Receiver> {
  const validations: string[] = [];
  const notifications: any[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://receiver');
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      const token = url.searchParams.get('validationToken');
      if (token !== null) {
        validations.push(token);
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(echo ? token : 'not the token');
        return;
      }
      notifications.push(JSON.parse(body));
      res.writeHead(202);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    validations,
    notifications,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
