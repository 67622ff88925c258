import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WRITEBACK_ENTITIES } from './fixtures.js';
import { compareWithSharePoint, createHarness, type Harness } from './support.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness(WRITEBACK_ENTITIES, { seed: 11 });
  await h.writeback().install();
});
afterAll(async () => {
  await h?.close();
});

describe('faults', () => {
  it('10,000 changes converge with 20 % of requests failing, with 0 duplicates', async () => {
    // 20 % in all: throttling with Retry-After, unavailable, timeouts, dropped connections and
    // responses lost after the change was applied — outer $batch calls and inner requests alike.
    const faults = [
      h.emulator.faults.inject({ scope: 'inner', status: 429, retryAfterSeconds: 0.05, probability: 0.05 }),
      h.emulator.faults.inject({ scope: 'inner', status: 503, probability: 0.04 }),
      h.emulator.faults.inject({ scope: 'request', path: '/$batch', latencyMs: 1500, probability: 0.02 }),
      h.emulator.faults.inject({ scope: 'request', path: '/$batch', drop: true, probability: 0.03 }),
      h.emulator.faults.inject({ scope: 'request', path: '/$batch', lostResponse: true, probability: 0.06 }),
    ];
    let changes = 0;
    const count = async (sql: string) => {
      const [, affected] = await h.dataSource.query(sql);
      changes += Number(affected ?? 0);
    };
    // TypeORM reports no affected count for a plain INSERT: these two add 4,000 changes.
    await h.dataSource.query(
      `INSERT INTO wb_company (name, employees) SELECT 'c' || g, g FROM generate_series(1, 3000) g`,
    );
    await h.dataSource.query(`INSERT INTO wb_note (body) SELECT 'n' || g FROM generate_series(1, 1000) g`);
    changes += 4000;
    const wb = h.writeback({ concurrency: 4, retryAttempts: 30, runWorker: true, pollIntervalMs: 10 });
    wb.start();
    try {
      for (let i = 0; i < 8; i++) {
        await count(`UPDATE wb_company SET employees = employees + 1 WHERE random() < 0.25`);
        await count(`UPDATE wb_note SET body = body || '*' WHERE random() < 0.1`);
        await count(`DELETE FROM wb_company WHERE random() < 0.02`);
        await count(`DELETE FROM wb_note WHERE random() < 0.02`);
      }
      expect(changes).toBeGreaterThanOrEqual(10_000);
      await wb.flush({ timeoutMs: 120_000 });
    } finally {
      await wb.stop();
    }
    const hits = faults.reduce((n, f) => n + f.hits, 0);
    for (const f of faults) f.remove();
    expect(hits).toBeGreaterThan(50);
    for (const entity of ['WbCompany', 'WbNote']) {
      const diff = await compareWithSharePoint(h, entity);
      expect(diff.rows).toBeGreaterThan(0);
      expect({
        missing: diff.missing,
        extra: diff.extra,
        duplicates: diff.duplicates,
        different: diff.different,
      }).toEqual({
        missing: [],
        extra: [],
        duplicates: [],
        different: [],
      });
    }
    // The flush alone may take up to 120 s on a loaded machine: the test's deadline must cover it.
  }, 300_000);
});
