import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Logger, SharePointList, SharePointSync } from '../../src/index.js';
import type { ConflictPolicy } from '../../src/schema/index.js';
import { type Emulator, type EmulatorList } from '../../src/testing/index.js';
import { createWebhookSetup, type WebhookSetup } from '../support/attached.js';

function entity(name: string, policy: ConflictPolicy) {
  @SharePointList({ title: `In ${name}`, priority: 'P1', conflictResolution: policy })
  @Entity(`in_${name.toLowerCase()}`)
  class Record {
    @PrimaryGeneratedColumn('uuid') id!: string;
    @Column({ type: 'varchar', length: 50 }) name!: string;
    @Column({ type: 'integer', nullable: true }) size?: number | null;
  }
  Object.defineProperty(Record, 'name', { value: `In${name}` });
  return Record;
}

const Alpha = entity('Alpha', 'sharePointPriority');
const Beta = entity('Beta', 'twentyPriority');
const Gamma = entity('Gamma', 'lastWriteWins');
const Delta = entity('Delta', 'manualReview');

const SITE = 'contoso.sharepoint.com:/sites/inbound';
let emulator: Emulator;
let dataSource: DataSource;
let sync: SharePointSync;
let clockOffset = 0;
const warnings: string[] = [];
let hooks: WebhookSetup;
let receiverUrl: string;

const logger: Logger = { debug() {}, info() {}, warn: (m) => void warnings.push(m), error() {} };
const list = (title: string): EmulatorList => emulator.site(SITE).list(title)!;
const itemOf = (title: string, id: string) =>
  list(title)
    .items()
    .find((i) => i.fields.TwentyId === id)!;

beforeAll(async () => {
  hooks = await createWebhookSetup({
    site: SITE,
    entities: [Alpha, Beta, Gamma, Delta],
    emulator: { now: () => Date.now() + clockOffset },
    logger,
  });
  ({ dataSource, sync, receiverUrl } = hooks);
  emulator = hooks.env.emulator;
});

afterAll(async () => {
  await hooks?.close();
});

describe('delta', () => {
  it('a person’s edit and delete in SharePoint reach PostgreSQL on pull, without entering the outbox', async () => {
    const repo = dataSource.getRepository(Alpha);
    const a = await repo.save({ name: 'one', size: 1 });
    const b = await repo.save({ name: 'two', size: 2 });
    await sync.flush();
    list('In Alpha').updateItem(itemOf('In Alpha', a.id).id, { Size: 10 });
    list('In Alpha').deleteItem(itemOf('In Alpha', b.id).id);
    const [result] = await sync.pull(Alpha);
    expect(result).toMatchObject({ mode: 'delta', loaded: 1, deleted: 1 });
    expect((await repo.findOneByOrFail({ id: a.id })).size).toBe(10);
    expect(await repo.findOneBy({ id: b.id })).toBeNull();
    expect((await sync.pending()).total).toBe(0);
  });

  it('our own write-backs coming back through delta are echoes: not applied, not re-queued', async () => {
    const repo = dataSource.getRepository(Alpha);
    const c = await repo.save({ name: 'echo', size: 3 });
    await repo.update(c.id, { size: 4 });
    await sync.flush();
    const [result] = await sync.pull(Alpha);
    expect(result!.echoes).toBeGreaterThanOrEqual(1);
    expect(result!.loaded).toBe(0);
    expect((await sync.pending()).total).toBe(0);
  });

  it('an expired delta token (410) falls back to a full resync', async () => {
    const repo = dataSource.getRepository(Alpha);
    const d = await repo.save({ name: 'resync', size: 5 });
    await sync.flush();
    await sync.pull(Alpha);
    emulator.expireDeltaTokens(list('In Alpha').id);
    list('In Alpha').updateItem(itemOf('In Alpha', d.id).id, { Size: 50 });
    const [result] = await sync.pull(Alpha);
    expect(result!.mode).toBe('full');
    expect((await repo.findOneByOrFail({ id: d.id })).size).toBe(50);
  });
});

// Live subscriptions (notifications pulling in the background) are in webhooks.test.ts: here they would
// change the state the other tests assert on.
describe('webhooks', () => {
  it('answers the validation handshake with the token as text/plain', async () => {
    const r = await fetch(`${receiverUrl}?validationToken=${encodeURIComponent('abc 123')}`, {
      method: 'POST',
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/plain');
    expect(await r.text()).toBe('abc 123');
  });

  it('a wrong clientState (403), an oversized body (413), malformed JSON (400): refused, nothing pulled, no crash', async () => {
    emulator.log.reset();
    const forged = await fetch(receiverUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        value: [{ clientState: 'guess', resource: `sites/x/lists/${list('In Alpha').id}` }],
      }),
    });
    expect(forged.status).toBe(403);
    const huge = await fetch(receiverUrl, { method: 'POST', body: 'x'.repeat(2 * 1024 * 1024) });
    expect(huge.status).toBe(413);
    const malformed = await fetch(receiverUrl, { method: 'POST', body: '{"value": [' });
    expect(malformed.status).toBe(400);
    // Still serving after all that.
    expect((await fetch(`${receiverUrl}?validationToken=alive`, { method: 'POST' })).status).toBe(200);
    expect(emulator.log.entries.filter((e) => e.path.endsWith('/delta'))).toHaveLength(0);
  });

  it('the fetch-style handler behaves the same', async () => {
    const handler = sync.webhooks.handler();
    const ok = await handler.fetch(new Request('http://app/hook?validationToken=t1', { method: 'POST' }));
    expect(await ok.text()).toBe('t1');
    const forged = await handler.fetch(
      new Request('http://app/hook', {
        method: 'POST',
        body: JSON.stringify({ value: [{ clientState: 'nope' }] }),
      }),
    );
    expect(forged.status).toBe(403);
  });
});

describe('conflict policies (a change on both sides at once)', () => {
  async function bothSides(Entity: Function, title: string, local: number, remote: number, remoteLater = 0) {
    const repo = dataSource.getRepository(Entity);
    const row = (await repo.save({ name: `c-${title}`, size: 0 })) as unknown as { id: string };
    await sync.flush();
    await sync.pull(Entity);
    await repo.update(row.id, { size: local });
    clockOffset = remoteLater;
    list(title).updateItem(itemOf(title, row.id).id, { Size: remote });
    clockOffset = 0;
    await sync.pull(Entity);
    return { repo, id: row.id };
  }

  it('sharePointPriority (default): SharePoint’s value wins, the local change is dropped, the conflict is recorded', async () => {
    const { repo, id } = await bothSides(Alpha, 'In Alpha', 1, 2);
    expect((await repo.findOneByOrFail({ id })) as { size: number }).toMatchObject({ size: 2 });
    expect((await sync.pending()).total).toBe(0);
    const [conflict] = await sync.conflicts.list({ entity: 'InAlpha' });
    expect(conflict).toMatchObject({ twentyId: id, policy: 'sharePointPriority', resolution: 'sharepoint' });
  });

  it('twentyPriority: the local value stays and is sent over SharePoint’s', async () => {
    const { repo, id } = await bothSides(Beta, 'In Beta', 11, 22);
    expect((await repo.findOneByOrFail({ id })) as { size: number }).toMatchObject({ size: 11 });
    await sync.flush();
    expect(itemOf('In Beta', id).fields.Size).toBe(11);
  });

  it('lastWriteWins: the later change wins (SharePoint later here)', async () => {
    const { repo, id } = await bothSides(Gamma, 'In Gamma', 5, 6, 10_000);
    expect((await repo.findOneByOrFail({ id })) as { size: number }).toMatchObject({ size: 6 });
    await sync.flush();
    expect(itemOf('In Gamma', id).fields.Size).toBe(6);
    const local = await bothSides(Gamma, 'In Gamma', 7, 8, -60_000);
    expect((await local.repo.findOneByOrFail({ id: local.id })) as { size: number }).toMatchObject({
      size: 7,
    });
    await sync.flush();
    expect(itemOf('In Gamma', local.id).fields.Size).toBe(7);
  });

  it('manualReview: neither side is overwritten until a person resolves, either way', async () => {
    const first = await bothSides(Delta, 'In Delta', 31, 32);
    await sync.flush();
    expect((await first.repo.findOneByOrFail({ id: first.id })) as { size: number }).toMatchObject({
      size: 31,
    });
    expect(itemOf('In Delta', first.id).fields.Size).toBe(32);
    const [open] = await sync.conflicts.list({ entity: 'InDelta', open: true });
    expect(open).toMatchObject({ twentyId: first.id, policy: 'manualReview', resolution: null });
    expect(open!.local).toMatchObject({ Size: 31 });
    expect(open!.remote).toMatchObject({ Size: 32 });
    // A later local edit stays held too.
    await first.repo.update(first.id, { size: 33 });
    await sync.flush();
    expect(itemOf('In Delta', first.id).fields.Size).toBe(32);
    await sync.conflicts.resolve(open!.id, 'local');
    await sync.flush();
    expect(itemOf('In Delta', first.id).fields.Size).toBe(33);

    const second = await bothSides(Delta, 'In Delta', 41, 42);
    const [again] = await sync.conflicts.list({ entity: 'InDelta', open: true });
    await sync.conflicts.resolve(again!.id, 'sharePoint');
    expect((await second.repo.findOneByOrFail({ id: second.id })) as { size: number }).toMatchObject({
      size: 42,
    });
    expect((await sync.pending()).total).toBe(0);
    await expect(sync.conflicts.resolve(again!.id, 'local')).rejects.toThrow(/no open conflict/);
  });

  it('a 412 on write-back follows the list policy too (manualReview parks it)', async () => {
    const repo = dataSource.getRepository(Delta);
    const row = (await repo.save({ name: 'late', size: 1 })) as unknown as { id: string };
    await sync.flush();
    list('In Delta').updateItem(itemOf('In Delta', row.id).id, { Size: 99 });
    await repo.update(row.id, { size: 2 });
    await sync.flush();
    expect(itemOf('In Delta', row.id).fields.Size).toBe(99);
    const open = await sync.conflicts.list({ entity: 'InDelta', open: true });
    expect(open.map((c) => c.twentyId)).toContain(row.id);
    // Leave nothing parked: the other tests count open conflicts and pending changes, in any order.
    for (const c of open) await sync.conflicts.resolve(c.id, 'sharePoint');
    expect((await sync.pending()).total).toBe(0);
  });
});
