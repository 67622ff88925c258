import { DataSource } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GraphRequest } from '../../src/graph/index.js';
import { junctionTwentyId, ValidationError } from '../../src/schema/index.js';
import { capturedTables, suppressCapture } from '../../src/store/capture.js';
import { rows } from '../../src/store/db.js';
import { WritebackFlushError } from '../../src/writeback/index.js';
import { waitFor } from '../support/wait.js';
import { WbCompany, WbNote, WRITEBACK_ENTITIES } from './fixtures.js';
import { createHarness, type Harness } from './support.js';

let h: Harness;
const outbox = () =>
  rows<{ entity: string; twenty_id: string; op: string; version: number; priority: number }>(
    h.dataSource,
    'SELECT entity, twenty_id, op, version, priority FROM sharepoint_sync.outbox ORDER BY id',
  );
const companies = () => h.dataSource.getRepository(WbCompany);
const field = (entity: string, property: string) => {
  const list = h.ctx.lists.find((l) => l.entityName === entity)!;
  return [list.idField, ...list.fields].find((f) => f.property === property)!.name;
};
/** Every request the write-back hands to the gateway, in order. */
let sent: GraphRequest[] = [];

beforeAll(async () => {
  h = await createHarness(WRITEBACK_ENTITIES);
  const batch = h.ctx.graph.batch.bind(h.ctx.graph);
  h.ctx.graph.batch = (async (requests: GraphRequest[]) => {
    sent.push(...requests);
    return batch(requests);
  }) as typeof h.ctx.graph.batch;
  await h.writeback().install();
});
afterAll(async () => {
  await h?.close();
});
beforeEach(async () => {
  h.emulator.faults.clear();
  await h.dataSource.query('DELETE FROM sharepoint_sync.outbox');
  await h.dataSource.query('DELETE FROM sharepoint_sync.dead_letters');
  sent = [];
  h.events.length = 0;
});

describe('capture (trigger on every synced table)', () => {
  it('installs one trigger per synced table, idempotently', async () => {
    await h.writeback().install();
    expect(await capturedTables(h.dataSource, 'sharepoint_sync')).toEqual(['wb_company', 'wb_note']);
  });

  it('captures save, insert, update(), QueryBuilder, softDelete, restore, delete and raw SQL', async () => {
    const repo = companies();
    const a = await repo.save({ name: 'A' });
    const inserted = await repo.insert({ name: 'B' });
    const b = inserted.identifiers[0]!.id as string;
    expect((await outbox()).map((r) => [r.twenty_id, r.op, r.version])).toEqual([
      [a.id, 'upsert', 1],
      [b, 'upsert', 1],
    ]);
    await repo.update({ id: a.id }, { employees: 5 });
    await h.dataSource
      .createQueryBuilder()
      .update(WbCompany)
      .set({ name: 'A2' })
      .where('id = :id', { id: a.id })
      .execute();
    await repo.softDelete({ id: b });
    await repo.restore({ id: b });
    const [raw] = await h.dataSource.query(`INSERT INTO wb_company (name) VALUES ('raw') RETURNING id`);
    await repo.delete({ id: a.id });
    const byId = new Map((await outbox()).map((r) => [r.twenty_id, r]));
    expect(byId.get(a.id)).toMatchObject({ op: 'delete', version: 4, priority: 0 });
    expect(byId.get(b)).toMatchObject({ op: 'upsert', version: 3 });
    expect(byId.get(raw.id)).toMatchObject({ op: 'upsert', version: 1 });
    expect(byId.size).toBe(3);
  });

  it('writes nothing when the transaction rolls back', async () => {
    await expect(
      h.dataSource.transaction(async (manager) => {
        await manager.save(WbCompany, { name: 'rolled back' });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await outbox()).toEqual([]);
  });

  it('skips suppressed transactions and no-op updates; a key change is delete + upsert', async () => {
    const runner = h.dataSource.createQueryRunner();
    await runner.startTransaction();
    await suppressCapture(runner);
    await runner.query(`INSERT INTO wb_company (name) VALUES ('from SharePoint')`);
    await runner.commitTransaction();
    await runner.release();
    expect(await outbox()).toEqual([]);

    const c = await companies().save({ name: 'same' });
    await h.dataSource.query(`UPDATE wb_company SET name = name WHERE id = $1`, [c.id]);
    expect((await outbox()).map((r) => r.version)).toEqual([1]);

    const newId = '00000000-0000-4000-8000-000000000001';
    await h.dataSource.query(`UPDATE wb_company SET id = $2 WHERE id = $1`, [c.id, newId]);
    const byId = new Map((await outbox()).map((r) => [r.twenty_id, r.op]));
    expect(byId.get(c.id)).toBe('delete');
    expect(byId.get(newId)).toBe('upsert');
  });

  it('rejects a value SharePoint would refuse before commit (validation subscriber)', async () => {
    await expect(companies().save({ name: 'x'.repeat(300) })).rejects.toBeInstanceOf(ValidationError);
    await expect(companies().update({ name: 'nobody' }, { name: 'y'.repeat(300) })).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(await outbox()).toEqual([]);
  });

  it('computes junction TwentyIds in JS exactly as the trigger does in SQL', async () => {
    const [row] = await h.dataSource.query(`SELECT md5('a' || ':' || 'b')::uuid::text AS id`);
    expect(junctionTwentyId('a', 'b')).toBe(row.id);
  });
});

describe('send', () => {
  it('creates, coalesces many updates into one PATCH of the changed fields, and deletes', async () => {
    const wb = h.writeback();
    const c = await companies().save({ name: 'Acme', employees: 1 });
    await wb.flush();
    const created = h.items('WbCompany').get(c.id)!;
    expect(created[field('WbCompany', 'name')]).toBe('Acme');

    sent = [];
    for (let i = 2; i <= 11; i++) await companies().update({ id: c.id }, { employees: i });
    await wb.flush();
    expect(sent.map((r) => r.method)).toEqual(['PATCH']);
    expect(sent[0]!.body).toEqual({ [field('WbCompany', 'employees')]: 11 });
    expect(sent[0]!.headers?.['If-Match']).toMatch(/^"?\{?[0-9A-Fa-f-]+\}?,\d+"?$/);
    expect(h.items('WbCompany').get(c.id)![field('WbCompany', 'employees')]).toBe(11);

    sent = [];
    await companies().delete({ id: c.id });
    await wb.flush();
    expect(sent.map((r) => r.method)).toEqual(['DELETE']);
    expect(h.items('WbCompany').has(c.id)).toBe(false);
    const state = await h.dataSource.query('SELECT 1 FROM sharepoint_sync.sync_state WHERE twenty_id = $1', [
      c.id,
    ]);
    expect(state).toEqual([]);
    const sentEvents = h.events.filter((e) => e.type === 'writeback.sent');
    expect(sentEvents.some((e) => e.type === 'writeback.sent' && e.op === 'delete')).toBe(true);
  });

  it('sends nothing for a record created and deleted before it was sent', async () => {
    const c = await companies().save({ name: 'ephemeral' });
    await companies().delete({ id: c.id });
    expect(await h.writeback().flush()).toEqual({ sent: 1 });
    expect(sent).toEqual([]);
  });

  it('soft delete and restore reach SharePoint as the deletedAt field', async () => {
    const wb = h.writeback();
    const c = await companies().save({ name: 'Soft' });
    await wb.flush();
    await companies().softDelete({ id: c.id });
    await wb.flush();
    expect(h.items('WbCompany').get(c.id)![field('WbCompany', 'deletedAt')]).toBeTruthy();
    await companies().restore({ id: c.id });
    await wb.flush();
    expect(h.items('WbCompany').get(c.id)![field('WbCompany', 'deletedAt')] ?? null).toBeNull();
  });

  it('adopts the item when a create was applied but its response was lost (no duplicate)', async () => {
    h.emulator.faults.inject({
      method: 'POST',
      path: /\/items$/,
      scope: 'inner',
      lostResponse: true,
      count: 1,
    });
    const saved = await companies().save(Array.from({ length: 5 }, (_, i) => ({ name: `lost ${i}` })));
    await h.writeback().flush();
    const items = h.items('WbCompany');
    for (const c of saved) expect(items.get(c.id)?.__count).toBe(1);
  });

  it('a delete after a lost create still finds and removes the item', async () => {
    h.emulator.faults.inject({
      method: 'POST',
      path: /\/items$/,
      scope: 'inner',
      lostResponse: true,
      count: 1,
    });
    const wb = h.writeback({ retryAttempts: 1, retryDelayMs: 60_000 });
    const c = await companies().save({ name: 'orphan?' });
    // First pass: the POST is applied but the answer is lost; the record waits in backoff.
    await h.dataSource.query(`UPDATE sharepoint_sync.outbox SET available_at = now()`);
    await expect(wb.flush({ timeoutMs: 200 })).rejects.toThrow(/timed out/);
    expect(h.items('WbCompany').has(c.id)).toBe(true);
    await companies().delete({ id: c.id });
    await h.dataSource.query(`UPDATE sharepoint_sync.outbox SET available_at = now()`);
    await wb.flush();
    expect(h.items('WbCompany').has(c.id)).toBe(false);
  });

  it('dead-letters a SharePoint validation error at once, without blocking other records', async () => {
    const wb = h.writeback();
    // Raw SQL bypasses the validation subscriber, so SharePoint is the one to refuse it.
    const [bad] = await h.dataSource.query(`INSERT INTO wb_company (name) VALUES ($1) RETURNING id`, [
      'z'.repeat(255),
    ]);
    const good = await companies().save({ name: 'fine' });
    await h.dataSource.query(`ALTER TABLE wb_company ALTER COLUMN name TYPE varchar(400)`);
    await h.dataSource.query(`UPDATE wb_company SET name = $2 WHERE id = $1`, [bad.id, 'z'.repeat(300)]);
    const error = await wb.flush().catch((e: unknown) => e);
    await h.dataSource.query(`UPDATE wb_company SET name = left(name, 200) WHERE id = $1`, [bad.id]);
    await h.dataSource.query(`ALTER TABLE wb_company ALTER COLUMN name TYPE varchar(255)`);
    expect(error).toBeInstanceOf(WritebackFlushError);
    expect((error as WritebackFlushError).message).toContain(bad.id);
    expect(h.items('WbCompany').has(good.id)).toBe(true);
    const dead = await wb.deadLetters({ twentyId: bad.id });
    expect(dead).toHaveLength(1);
    expect(dead[0]!.attempts).toBe(1);
    expect(dead[0]!.error).toMatch(new RegExp(field('WbCompany', 'name')));
    expect(await wb.retryDeadLetters({ entity: 'WbCompany' })).toBe(1);
    await wb.flush();
    expect(h.items('WbCompany').get(bad.id)?.[field('WbCompany', 'name')]).toBe('z'.repeat(200));
    expect(await wb.deadLetters()).toEqual([]);
  });

  it('retries with backoff and dead-letters after the configured attempts', async () => {
    const wb = h.writeback({ retryAttempts: 2, retryDelayMs: 5 });
    const c = await companies().save({ name: 'unlucky' });
    const fault = h.emulator.faults.inject({ method: 'POST', path: /\/items$/, scope: 'inner', status: 500 });
    await expect(wb.flush()).rejects.toBeInstanceOf(WritebackFlushError);
    fault.remove();
    const [dead] = await wb.deadLetters({ twentyId: c.id });
    expect(dead!.attempts).toBe(3);
    expect(h.events.filter((e) => e.type === 'writeback.retry')).toHaveLength(2);
    await wb.retryDeadLetters();
    await wb.flush();
    expect(h.items('WbCompany').has(c.id)).toBe(true);
  });

  it('a 412 is a conflict: SharePoint wins, the cache takes its values, the conflict is recorded', async () => {
    const wb = h.writeback();
    const c = await companies().save({ name: 'Local', employees: 1 });
    await wb.flush();
    const item = h.items('WbCompany').get(c.id)!;
    h.emulator
      .site('contoso.sharepoint.com:/sites/crm')
      .list(h.ctx.listIds.get('WbCompany')!)!
      .updateItem(String(item.__id), { [field('WbCompany', 'name')]: 'Remote' });
    await companies().update({ id: c.id }, { employees: 2 });
    await wb.flush();
    const row = await companies().findOneByOrFail({ id: c.id });
    expect(row.name).toBe('Remote');
    const conflicts = await h.dataSource.query(
      'SELECT policy, resolution FROM sharepoint_sync.conflicts WHERE twenty_id = $1',
      [c.id],
    );
    expect(conflicts).toEqual([{ policy: 'sharePointPriority', resolution: 'sharepoint' }]);
    expect(h.events).toContainEqual(expect.objectContaining({ type: 'conflict', twentyId: c.id }));
    expect(await outbox()).toEqual([]); // the cache write was not captured
  });

  it('P0 goes out at once through the running worker; P1 waits for its window; flush ignores windows', async () => {
    const wb = h.writeback({ runWorker: true, batchWindowSeconds: 3600 });
    wb.start();
    try {
      const c = await companies().save({ name: 'urgent' });
      const n = await h.dataSource.getRepository(WbNote).save({ body: 'later' });
      // The window is an hour: arriving within the deadline at all shows P0 did not wait for it. No
      // wall-clock threshold, which a loaded machine breaks.
      await waitFor(() => h.items('WbCompany').has(c.id), {
        timeoutMs: 30_000,
        message: 'P0 item in SharePoint',
      });
      // The item reaches SharePoint before the worker settles its outbox row: wait for that too.
      await waitFor(async () => (await wb.pending()).byPriority.P0 === 0, {
        timeoutMs: 30_000,
        message: 'P0 outbox row settled',
      });
      expect((await wb.pending()).byPriority).toMatchObject({ P0: 0, P1: 1 });
      expect(h.items('WbNote').has(n.id)).toBe(false);
      await wb.flush();
      expect(h.items('WbNote').has(n.id)).toBe(true);
    } finally {
      await wb.stop();
    }
  });

  it("releases a dead worker's claims at once", async () => {
    const c = await companies().save({ name: 'claimed by the dead' });
    await h.dataSource.query(
      `UPDATE sharepoint_sync.outbox SET claimed_by = 424242, claimed_at = now(), claimed_version = version`,
    );
    await h.writeback().flush();
    expect(h.items('WbCompany').has(c.id)).toBe(true);
  });

  it('keeps capturing when disabled, and markDirty queues rows changed behind its back', async () => {
    const disabled = h.writeback({ enabled: false });
    const runner = h.dataSource.createQueryRunner();
    await runner.startTransaction();
    await suppressCapture(runner);
    const [row] = await runner.query(`INSERT INTO wb_company (name) VALUES ('invisible') RETURNING id`);
    await runner.commitTransaction();
    await runner.release();
    await expect(disabled.flush()).rejects.toThrow(/disabled/);
    expect(await disabled.markDirty(WbCompany, [row.id])).toBe(1);
    expect(await disabled.pending()).toMatchObject({ total: 1, byPriority: { P0: 1 } });
    await h.writeback().flush();
    expect(h.items('WbCompany').has(row.id)).toBe(true);
  });
});

describe('two workers on one database', () => {
  it('send every change exactly once', async () => {
    const second = new DataSource({ ...h.dataSource.options, synchronize: false } as never);
    await second.initialize();
    const a = h.writeback({ runWorker: true, pollIntervalMs: 10 });
    const b = h.writeback({ runWorker: true, pollIntervalMs: 10 }, second);
    try {
      h.emulator.log.reset();
      a.start();
      b.start();
      const saved = await companies().save(Array.from({ length: 300 }, (_, i) => ({ name: `pair ${i}` })));
      await waitFor(async () => (await outbox()).length === 0, {
        timeoutMs: 60_000,
        message: 'outbox drained',
      });
      await a.stop();
      await b.stop();
      const posts = h.emulator.log.entries.filter((e) => e.method === 'POST' && /\/items$/.test(e.path));
      expect(posts).toHaveLength(300);
      const items = h.items('WbCompany');
      for (const c of saved) expect(items.get(c.id)?.__count).toBe(1);
    } finally {
      // Stopping twice is harmless; a failed wait must not leave workers running into the next file.
      await a.stop();
      await b.stop();
      await second.destroy();
    }
  });
});
