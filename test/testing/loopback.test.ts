import http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../src/testing/index.js';
import { emulatorScenarios } from './scenarios.js';
import { call, loopbackTransport, SITE, SITE_PATH } from './support.js';

emulatorScenarios(loopbackTransport);

/** A raw request on a socket: resolves the status, or rejects with the socket's error code. */
function rawRequest(url: string, method = 'GET', body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', (error: NodeJS.ErrnoException) => reject(new Error(error.code ?? error.message)));
    req.end(body);
  });
}

function portIsClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('loopback server', () => {
  it('serves real sockets on the asked port and host; two servers share one state; close frees the port', async () => {
    const emulator = createEmulator({ sites: [SITE] });
    try {
      const first = await emulator.listen({ host: '127.0.0.1' });
      const port = Number(new URL(first.url).port);
      expect(first.url).toBe(`http://127.0.0.1:${port}`);
      await first.close();
      expect(await portIsClosed(port)).toBe(true);
      const again = await emulator.listen({ port });
      expect(again.url).toBe(`http://127.0.0.1:${port}`);
      const other = await emulator.listen();
      const list = await call(`${again.url}/v1.0`, 'POST', `/sites/${emulator.site(SITE).id}/lists`, {
        displayName: 'Shared',
      });
      expect(list.status).toBe(201);
      const seen = await call(`${other.url}/v1.0`, 'GET', `/sites/${emulator.site(SITE).id}/lists/Shared`);
      expect(seen.json.id).toBe(list.json.id);
      await emulator.close();
      expect(await portIsClosed(port)).toBe(true);
      expect(await portIsClosed(Number(new URL(other.url).port))).toBe(true);
    } finally {
      await emulator.close();
    }
  });

  it('answers 400 outside /v1.0 and for a path that does not decode, as Graph does', async () => {
    const emulator = createEmulator({ sites: [SITE] });
    try {
      const { url } = await emulator.listen();
      const beta = await call(url, 'GET', '/beta/sites');
      expect(beta.status).toBe(400);
      expect(beta.json.error.message).toBe('Invalid version: beta');
      expect((await call(url, 'GET', '/v1.0/sites/%E0%A4%A')).status).toBe(400);
      expect(emulator.log.entries.map((e) => e.status)).toEqual([400, 400]);
    } finally {
      await emulator.close();
    }
  });

  it('drop destroys the socket before applying; lostResponse destroys it after applying', async () => {
    const emulator = createEmulator({ sites: [SITE] });
    try {
      const { url } = await emulator.listen();
      const list = emulator.site(SITE).createList({ displayName: 'Sockets' });
      const items = `${url}/v1.0/sites/${emulator.site(SITE).id}/lists/${list.id}/items`;
      const body = (title: string) => JSON.stringify({ fields: { Title: title } });
      emulator.faults.inject({ method: 'POST', drop: true, count: 1 });
      await expect(rawRequest(items, 'POST', body('dropped'))).rejects.toThrow(/ECONNRESET|socket hang up/);
      expect(list.items()).toHaveLength(0);
      emulator.faults.inject({ method: 'POST', lostResponse: true, count: 1 });
      await expect(rawRequest(items, 'POST', body('lost'))).rejects.toThrow(/ECONNRESET|socket hang up/);
      expect(list.items().map((i) => i.fields.Title)).toEqual(['lost']);
      expect(await rawRequest(items, 'POST', body('fine'))).toBe(201);
      expect(await rawRequest(`${url}/v1.0${SITE_PATH}`)).toBe(200);
    } finally {
      await emulator.close();
    }
  });
});
