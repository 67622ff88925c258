import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SharePointList, SharePointSync } from '../../src/index.js';
import { createEmulator, type Emulator, type EmulatorList } from '../../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { waitFor } from '../support/wait.js';

@SharePointList({ title: 'Hooked', priority: 'P1' })
@Entity('hooked')
class Hooked {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 50 }) name!: string;
  @Column({ type: 'integer', nullable: true }) size?: number | null;
}

const SITE = 'contoso.sharepoint.com:/sites/hooks';
const CLIENT_STATE = 'webhook-limits-secret';
const BIG = 400 * 1024 * 1024;
const CHUNK = 64 * 1024;

let db: TestDatabase;
let emulator: Emulator;
let dataSource: DataSource;
let sync: SharePointSync;
let receiver: http.Server;
let receiverUrl: string;
const warnings: string[] = [];
let pulls = 0;

const list = (): EmulatorList => emulator.site(SITE).list('Hooked')!;

beforeAll(async () => {
  db = await createTestDatabase();
  emulator = createEmulator({ sites: [SITE] });
  const { url } = await emulator.listen();
  dataSource = new DataSource({ type: 'postgres', url: db.url, entities: [Hooked], synchronize: true });
  await dataSource.initialize();
  sync = await SharePointSync.attach(dataSource, {
    site: { hostname: 'contoso.sharepoint.com', path: '/sites/hooks' },
    graph: { baseUrl: `${url}/v1.0`, budget: { resourceUnitsPerMinute: 1_000_000 } },
    writeback: { runWorker: false },
    inbound: { pollIntervalSeconds: 0 },
    webhooks: { clientState: CLIENT_STATE },
    logger: { debug() {}, info() {}, warn: (m) => void warnings.push(m), error() {} },
  });
  sync.on((event) => {
    if (event.type === 'inbound.applied' && event.entity === 'Hooked') pulls++;
  });
  const handler = sync.webhooks.handler();
  receiver = http.createServer(handler);
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/sharepoint/webhook`;
  await sync.loadAll();
});

afterAll(async () => {
  await sync?.close();
  await dataSource?.destroy();
  receiver?.closeAllConnections();
  await new Promise((r) => receiver?.close(r));
  await emulator?.close();
  await db?.drop();
});

/** Samples RSS while `work` runs; returns the largest growth over the starting RSS. */
async function rssGrowth<T>(work: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const start = process.memoryUsage().rss;
  let peak = start;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, growth: peak - start };
  } finally {
    clearInterval(sampler);
  }
}

const MB = 1024 * 1024;

describe('the body limit is enforced while the body streams', () => {
  it('fetch-style: a lazily produced 400 MB unauthenticated body is refused (413) after about the limit, RSS stays flat', async () => {
    let produced = 0;
    const chunk = new Uint8Array(CHUNK).fill(120);
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (produced >= BIG) {
          controller.close();
          return;
        }
        produced += CHUNK;
        controller.enqueue(chunk);
      },
    });
    const request = new Request(receiverUrl, {
      method: 'POST',
      body: stream,
      duplex: 'half',
    } as RequestInit);
    const { result: response, growth } = await rssGrowth(() => sync.webhooks.handler().fetch(request));
    expect(response.status).toBe(413);
    console.log(
      `fetch handler: read ${(produced / MB).toFixed(1)} MB of 400, RSS +${(growth / MB).toFixed(1)} MB`,
    );
    expect(produced).toBeLessThan(8 * MB);
    expect(growth).toBeLessThan(50 * MB);
  });

  it('node http: a streamed 400 MB body gets its 413 while it is still being sent; the sender stops early', async () => {
    const { status, written, growth } = await new Promise<{
      status: number | undefined;
      written: number;
      growth: number;
    }>((resolve, reject) => {
      let written = 0;
      let status: number | undefined;
      let done = false;
      const start = process.memoryUsage().rss;
      let peak = start;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 5);
      const finish = () => {
        if (done) return;
        done = true;
        clearInterval(sampler);
        resolve({ status, written, growth: peak - start });
      };
      const request = http.request(receiverUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      });
      const chunk = Buffer.alloc(CHUNK, 120);
      request.on('response', (response) => {
        status = response.statusCode;
        response.resume();
        request.destroy();
        finish();
      });
      // A reset after the answer is the server closing the connection it would not read further.
      request.on('error', (error) => (status === undefined && written < BIG ? reject(error) : finish()));
      const pump = () => {
        while (!done && written < BIG) {
          written += CHUNK;
          if (!request.write(chunk)) {
            request.once('drain', pump);
            return;
          }
        }
        if (!done && written >= BIG) request.end();
      };
      pump();
    });
    console.log(
      `node handler: sent ${(written / MB).toFixed(1)} MB of 400 before the 413, RSS +${(growth / MB).toFixed(1)} MB`,
    );
    expect(status).toBe(413);
    expect(written).toBeLessThan(64 * MB);
    expect(growth).toBeLessThan(50 * MB);
  });

  it('a declared Content-Length over the limit is refused before reading', async () => {
    const response = await sync.webhooks.handler().fetch(
      new Request(receiverUrl, {
        method: 'POST',
        headers: { 'content-length': String(2 * MB) },
        body: 'x'.repeat(2 * MB),
      }),
    );
    expect(response.status).toBe(413);
  });
});

describe('answers', () => {
  it('the validation token comes back as text/plain with nosniff, from both handlers', async () => {
    const token = '<script>alert(1)</script> token';
    const viaNode = await fetch(`${receiverUrl}?validationToken=${encodeURIComponent(token)}`, {
      method: 'POST',
    });
    const viaFetch = await sync.webhooks
      .handler()
      .fetch(new Request(`${receiverUrl}?validationToken=${encodeURIComponent(token)}`, { method: 'POST' }));
    for (const response of [viaNode, viaFetch]) {
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await response.text()).toBe(token);
    }
  });

  it('an empty notification list (no clientState at all) is refused like a forged one: 403, nothing pulled', async () => {
    const before = pulls;
    const body = JSON.stringify({ value: [] });
    const viaNode = await fetch(receiverUrl, { method: 'POST', body });
    const viaFetch = await sync.webhooks.handler().fetch(new Request(receiverUrl, { method: 'POST', body }));
    expect([viaNode.status, viaFetch.status]).toEqual([403, 403]);
    const odd = await sync.webhooks
      .handler()
      .fetch(new Request(receiverUrl, { method: 'POST', body: JSON.stringify({ value: [null] }) }));
    expect(odd.status).toBe(403);
    await sync.webhooks.settled();
    expect(pulls).toBe(before);
    expect(warnings.some((w) => /clientState/.test(w))).toBe(true);
  });
});

describe('notification bursts coalesce', () => {
  it('1,000 notifications within a second cost at most 2 pulls of the list, and a change made during the burst arrives', async () => {
    const repo = dataSource.getRepository(Hooked);
    const row = await repo.save({ name: 'burst', size: 0 });
    await sync.flush();
    await sync.pull(Hooked);
    await sync.webhooks.settled();
    const itemId = list()
      .items()
      .find((i) => i.fields.TwentyId === row.id)!.id;
    const handler = sync.webhooks.handler();
    const notification = JSON.stringify({
      value: [{ clientState: CLIENT_STATE, resource: `sites/x/lists/${list().id}`, changeType: 'updated' }],
    });
    const send = () => handler.fetch(new Request(receiverUrl, { method: 'POST', body: notification }));

    pulls = 0;
    const started = Date.now();
    const answers: Promise<Response>[] = [];
    // 1,000 notifications spread evenly over ~800 ms (50 waves of 20 on a fixed schedule, so that pulls can
    // run in between, as when Graph delivers them); the change in SharePoint just before the last one.
    for (let wave = 0; wave < 50; wave++) {
      const due = started + wave * 16;
      if (Date.now() < due) await new Promise((r) => setTimeout(r, due - Date.now()));
      for (let i = 0; i < 20; i++) {
        if (wave === 49 && i === 19) list().updateItem(itemId, { Size: 1000 });
        answers.push(send());
      }
    }
    const statuses = await Promise.all(answers.map(async (a) => (await a).status));
    const burstMs = Date.now() - started;
    expect(statuses.every((s) => s === 202)).toBe(true);
    await sync.webhooks.settled();
    console.log(`1,000 notifications in ${burstMs} ms → ${pulls} pull(s)`);
    expect(burstMs).toBeLessThan(1500);
    expect(pulls).toBeGreaterThanOrEqual(1);
    expect(pulls).toBeLessThanOrEqual(2);
    expect((await repo.findOneByOrFail({ id: row.id })).size).toBe(1000);
  });

  it('a notification during a pull queues exactly one more, which starts after it', async () => {
    const repo = dataSource.getRepository(Hooked);
    const row = await repo.save({ name: 'late', size: 0 });
    await sync.flush();
    await sync.pull(Hooked);
    await sync.webhooks.settled();
    const itemId = list()
      .items()
      .find((i) => i.fields.TwentyId === row.id)!.id;
    const handler = sync.webhooks.handler();
    const body = JSON.stringify({
      value: [{ clientState: CLIENT_STATE, resource: `sites/x/lists/${list().id}` }],
    });
    pulls = 0;
    await handler.fetch(new Request(receiverUrl, { method: 'POST', body }));
    list().updateItem(itemId, { Size: 7 });
    await handler.fetch(new Request(receiverUrl, { method: 'POST', body }));
    await handler.fetch(new Request(receiverUrl, { method: 'POST', body }));
    await waitFor(async () => (await repo.findOneByOrFail({ id: row.id })).size === 7, {
      message: 'the change notified during a pull',
    });
    await sync.webhooks.settled();
    expect(pulls).toBeLessThanOrEqual(2);
  });
});
