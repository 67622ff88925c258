// Found by the CI hunt of issue 15 (faults.test.ts failed 1 in 10): after a lost create, the PATCH that adopts
// the item is applied but its answer lost; the gateway's resend meets a 412 caused by our own write. It was
// dead-lettered; it must count as sent.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WbCompany, WRITEBACK_ENTITIES } from './fixtures.js';
import { createHarness, type Harness } from './support.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness(WRITEBACK_ENTITIES);
  await h.writeback().install();
});
afterAll(async () => {
  await h?.close();
});

it('adopting after a lost create: a resent adopt PATCH (its answer lost) is not dead-lettered', async () => {
  const repo = h.dataSource.getRepository(WbCompany);
  const c = await repo.save({ name: 'adopt me', employees: 1 });
  h.emulator.faults.inject({
    method: 'POST',
    path: /\/items$/,
    scope: 'inner',
    lostResponse: true,
    count: 1,
  });
  const wb = h.writeback({ retryAttempts: 3, retryDelayMs: 60_000 });
  await expect(wb.flush({ timeoutMs: 300 })).rejects.toThrow(/timed out/);
  await repo.update({ id: c.id }, { employees: 2 }); // the adopted item now differs: the adopt PATCHes it
  h.emulator.faults.inject({ method: 'PATCH', scope: 'inner', lostResponse: true, count: 1 });
  await h.dataSource.query(`UPDATE sharepoint_sync.outbox SET available_at = now()`);
  await wb.flush();
  expect(await wb.deadLetters()).toEqual([]);
  const items = [...h.items('WbCompany').values()].filter((i) => i.TwentyId === c.id);
  expect(items.map((i) => i.Employees)).toEqual([2]);
});
