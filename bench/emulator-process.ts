// The emulator in its own process for benchmarks, so the measured process holds only the library.
// Prints one JSON line {"graph": "...", "fill": "..."}; POST {"site","list","items":[fields…]} to `fill`
// adds items as a person would (the backdoor), without Graph's per-request cost. POST `fill`/edit with
// {"site","list","create":[fields…],"update":[{"index","fields"}…],"delete":[index…]} edits items by their
// position in id order (bench:load writes while it loads); GET `fill`/dump?site=…&list=… answers every item as
// [TwentyId, Name] (what the cache must hold).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEmulator } from '../src/testing/index.js';

const sites = (process.env.BENCH_SITES ?? 'contoso.sharepoint.com:/sites/bench').split(',');
const emulator = createEmulator({
  sites,
  // The latency model (docs/emulator.md): a fixed time per request plus a time per item returned.
  latency: {
    perRequestMs: Number(process.env.BENCH_LATENCY_MS ?? 0),
    perItemMs: Number(process.env.BENCH_LATENCY_PER_ITEM_MS ?? 0),
  },
  // BENCH_RU_PER_MINUTE: the emulator enforces the tenant's budget with 429s (bench:scale).
  ...(process.env.BENCH_RU_PER_MINUTE
    ? { resourceUnitsPerMinute: Number(process.env.BENCH_RU_PER_MINUTE) }
    : {}),
});
const { url } = await emulator.listen();
const fill = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/log') {
    // What the emulator charged: [time, resource units, throttled] per request (bench:scale's per-minute figures).
    res.end(JSON.stringify(emulator.log.entries.map((e) => [e.at, e.resourceUnits, e.throttled ? 1 : 0])));
    return;
  }
  if (req.method === 'GET' && req.url === '/cpu') {
    // This process's CPU time so far, in ms (bench:load: how much of a load the emulator's own work was).
    const { user, system } = process.cpuUsage();
    res.end(JSON.stringify({ ms: (user + system) / 1000 }));
    return;
  }
  if (req.method === 'GET' && req.url?.startsWith('/dump?')) {
    const q = new URL(req.url, 'http://x').searchParams;
    const list = emulator.site(q.get('site')!).list(q.get('list')!)!;
    res.end(JSON.stringify(list.items().map((i) => [i.fields.TwentyId ?? null, i.fields.Name ?? null])));
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        site: string;
        list: string;
        items?: Record<string, unknown>[];
        create?: Record<string, unknown>[];
        update?: { index: number; fields: Record<string, unknown> }[];
        delete?: number[];
      };
      const list = emulator.site(body.site).list(body.list);
      if (!list) throw new Error(`no list ${body.list}`);
      const before = list.items();
      for (const fields of [...(body.items ?? []), ...(body.create ?? [])]) list.createItem(fields);
      for (const u of body.update ?? []) list.updateItem(before[u.index]!.id, u.fields);
      for (const index of body.delete ?? []) list.deleteItem(before[index]!.id);
      const added = (body.items ?? body.create ?? []).length;
      res.end(JSON.stringify({ added, total: list.items().length }));
    } catch (error) {
      res.statusCode = 400;
      res.end(String(error));
    }
  });
});
await new Promise<void>((r) => fill.listen(0, '127.0.0.1', r));
console.log(
  JSON.stringify({ graph: `${url}/v1.0`, fill: `http://127.0.0.1:${(fill.address() as AddressInfo).port}` }),
);
process.on('SIGTERM', async () => {
  fill.close();
  await emulator.close();
  process.exit(0);
});
