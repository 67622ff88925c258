// The soak's SharePoint: the loopback emulator in its own process, so the workers, the person and the checker
// all reach it over HTTP as they would reach Graph. Prints one JSON line {"graph","admin"}; GET `admin`
// answers the request log's counters and the answers by status (409s are duplicate creates caught by TwentyId).
//   node --import tsx bench/soak/emulator.ts     (SOAK_EMULATOR: {"seed": n, "faults": true})
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEmulator } from '../../src/testing/index.js';
import { SITE_REF } from './entities.js';

const config = JSON.parse(process.env.SOAK_EMULATOR ?? '{}') as { seed?: number; faults?: boolean };
const emulator = createEmulator({ sites: [SITE_REF], seed: config.seed ?? 1 });
if (config.faults) {
  // Inside $batch only (the person's plain calls stay clean): transient errors and answers lost after applying,
  // which the worker must retry without duplicating a create or calling its own write a conflict.
  emulator.faults.inject({ scope: 'inner', status: 503, retryAfterSeconds: 0, probability: 0.02 });
  emulator.faults.inject({ scope: 'inner', method: 'POST', lostResponse: true, probability: 0.02 });
  emulator.faults.inject({ scope: 'inner', method: 'PATCH', lostResponse: true, probability: 0.02 });
}
const { url } = await emulator.listen();
const admin = http.createServer((_req, res) => {
  const byStatus: Record<string, number> = {};
  for (const e of emulator.log.entries) {
    // Failures by route (ids elided), successes by method only.
    const key =
      e.status >= 400
        ? `${e.method} ${e.path.replace(/\/(sites|lists|items|subscriptions)\/[^/]+/g, '/$1/*')} ${e.status}`
        : `${e.method} ${e.status}`;
    byStatus[key] = (byStatus[key] ?? 0) + 1;
  }
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify({ counters: emulator.log.counters(), byStatus }));
});
await new Promise<void>((r) => admin.listen(0, '127.0.0.1', r));
console.log(
  JSON.stringify({
    graph: `${url}/v1.0`,
    admin: `http://127.0.0.1:${(admin.address() as AddressInfo).port}`,
  }),
);
process.on('SIGTERM', async () => {
  admin.close();
  await emulator.close();
  process.exit(0);
});
