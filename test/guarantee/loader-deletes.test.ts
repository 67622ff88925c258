import { Column, DataSource, DeleteDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SharePointList, SharePointSync } from '../../src/index.js';
import { type Emulator, type EmulatorList } from '../../src/testing/index.js';
import { type AttachedSetup, createAttachedSetup } from '../support/attached.js';

// Issue 14, defect 3: relation loaders must never bring back a record deleted locally whose delete (hard or
// soft) is not in SharePoint yet, and a soft-deleted id known locally costs no Graph request.

@SharePointList({ title: 'Loader Targets', priority: 'P1' })
@Entity('loader_target')
class Target {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 50 }) name!: string;
  @DeleteDateColumn({ type: 'timestamptz', nullable: true }) deletedAt?: Date | null;
}

const SITE = 'contoso.sharepoint.com:/sites/loaders';
let env: AttachedSetup;
let emulator: Emulator;
let dataSource: DataSource;
let sync: SharePointSync;

const list = (): EmulatorList => emulator.site(SITE).list('Loader Targets')!;
const itemOf = (id: string) =>
  list()
    .items()
    .find((i) => i.fields.TwentyId === id);
const graphRequests = () => emulator.log.counters().requests;

beforeAll(async () => {
  env = await createAttachedSetup({
    site: SITE,
    entities: [Target],
    emulator: { seed: 3 },
    options: {
      // No resends by the gateway and one attempt in the outbox: a failing delete dead-letters at once.
      graph: { budget: { resourceUnitsPerMinute: 1_000_000 }, retry: { attempts: 1 } },
      writeback: { retryAttempts: 1, retryDelayMs: 5 },
    },
  });
  emulator = env.emulator;
  ({ dataSource, sync } = await env.attach());
  await sync.loadAll();
});

afterAll(async () => {
  await env?.close();
});

describe('relation loaders and records deleted locally', () => {
  it('a pending hard delete: load() answers null, asks SharePoint nothing, and the delete is still sent', async () => {
    const repo = dataSource.getRepository(Target);
    const a = await repo.save({ name: 'hard' });
    await sync.flush();
    await repo.delete(a.id);
    emulator.log.reset();
    expect(await sync.loaders().byId(Target).load(a.id)).toBeNull();
    expect(graphRequests()).toBe(0);
    expect(await repo.findOne({ where: { id: a.id }, withDeleted: true })).toBeNull();
    expect((await sync.pending()).total).toBe(1);
    await sync.flush();
    expect(itemOf(a.id)).toBeUndefined();
  });

  it('a pending soft delete: load() answers null (withDeleted: the soft-deleted row), no request, not undone', async () => {
    const repo = dataSource.getRepository(Target);
    const s = await repo.save({ name: 'soft' });
    await sync.flush();
    await repo.softDelete(s.id);
    emulator.log.reset();
    expect(await sync.loaders().byId(Target).load(s.id)).toBeNull();
    const withDeleted = await sync.loaders({ withDeleted: true }).byId<Target>(Target).load(s.id);
    expect(withDeleted?.deletedAt).toBeInstanceOf(Date);
    expect(graphRequests()).toBe(0);
    const row = await repo.findOneOrFail({ where: { id: s.id }, withDeleted: true });
    expect(row.deletedAt).toBeInstanceOf(Date);
    await sync.flush();
    expect(itemOf(s.id)?.fields.DeletedAt).toBeTruthy();
    expect((await sync.verify([Target])).ok).toBe(true);
  });

  it('a soft-deleted record already in SharePoint costs 0 Graph requests per load', async () => {
    const repo = dataSource.getRepository(Target);
    const s = await repo.save({ name: 'soft-synced' });
    await repo.softDelete(s.id);
    await sync.flush();
    emulator.log.reset();
    for (let i = 0; i < 3; i++) expect(await sync.loaders().byId(Target).load(s.id)).toBeNull();
    expect(graphRequests()).toBe(0);
  });

  it('a dead-lettered delete: the row stays gone (its only record is the dead letter)', async () => {
    const repo = dataSource.getRepository(Target);
    const d = await repo.save({ name: 'dead' });
    await sync.flush();
    await repo.delete(d.id);
    const fault = emulator.faults.inject({
      method: 'DELETE',
      path: /\/items\/\d+$/,
      scope: 'any',
      status: 503,
    });
    await expect(sync.flush()).rejects.toThrow(/dead/i);
    fault.remove();
    expect(await sync.deadLetters({ twentyId: d.id })).toHaveLength(1);
    emulator.log.reset();
    expect(await sync.loaders().byId(Target).load(d.id)).toBeNull();
    expect(graphRequests()).toBe(0);
    expect(await repo.findOne({ where: { id: d.id }, withDeleted: true })).toBeNull();
    await sync.retryDeadLetters();
    await sync.flush();
    expect(itemOf(d.id)).toBeUndefined();
  });

  it('an id the cache has never seen is still fetched from SharePoint and stored', async () => {
    const typed = '1a2b3c4d-0000-4000-8000-00000000abcd';
    list().createItem({ Title: 'typed', TwentyId: typed, Name: 'typed' });
    const found = await sync.loaders().byId<Target>(Target).load(typed);
    expect(found?.name).toBe('typed');
    expect((await sync.pending()).total).toBe(0);
  });
});
