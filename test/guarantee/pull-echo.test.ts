import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Column, DataSource, DeleteDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SharePointList, SharePointSync } from '../../src/index.js';
import type { ConflictPolicy } from '../../src/schema/index.js';
import type { SyncParts } from '../../src/sync/index.js';
import { createEmulator, type Emulator, type EmulatorList } from '../../src/testing/index.js';
import { type AttachedSetup, createAttachedSetup } from '../support/attached.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { waitFor } from '../support/wait.js';

// Issue 14, defect 1: a pull that meets a pending local change whose previous version we wrote ourselves
// (an echo) must neither record a conflict nor drop the change; only a real SharePoint change is a conflict.

function entity(name: string, policy: ConflictPolicy) {
  @SharePointList({ title: `Echo ${name}`, priority: 'P1', conflictResolution: policy })
  @Entity(`echo_${name.toLowerCase()}`)
  class Record {
    @PrimaryGeneratedColumn('uuid') id!: string;
    @Column({ type: 'varchar', length: 50 }) name!: string;
    @Column({ type: 'integer', nullable: true }) size?: number | null;
    @DeleteDateColumn({ type: 'timestamptz', nullable: true }) deletedAt?: Date | null;
  }
  Object.defineProperty(Record, 'name', { value: `Echo${name}` });
  return Record;
}

const Shared = entity('Shared', 'sharePointPriority');
const Local = entity('Local', 'twentyPriority');
const Hooked = entity('Hooked', 'sharePointPriority');

interface Row {
  id: string;
  name: string;
  size?: number | null;
  deletedAt?: Date | null;
}

const SITE = 'contoso.sharepoint.com:/sites/echo';
let env: AttachedSetup;
let emulator: Emulator;
let dataSource: DataSource;
let sync: SharePointSync;
/** The sync's concerns, for the two paths a test drives directly (the cache's freshness, one write-back cycle). */
let parts: SyncParts;

const list = (title: string): EmulatorList => emulator.site(SITE).list(title)!;
const itemOf = (title: string, id: string) =>
  list(title)
    .items()
    .find((i) => i.fields.TwentyId === id);

beforeAll(async () => {
  env = await createAttachedSetup({
    site: SITE,
    entities: [Shared, Local],
    emulator: { seed: 14 },
    options: {
      graph: {
        budget: { resourceUnitsPerMinute: 1_000_000 },
        retry: { attempts: 2, minDelayMs: 5, maxDelayMs: 20 },
      },
    },
  });
  emulator = env.emulator;
  ({ dataSource, sync, parts } = await env.attach());
  await sync.loadAll();
});

afterAll(async () => {
  await env?.close();
});

let conflictsBefore = 0;
beforeEach(async () => {
  conflictsBefore = (await sync.conflicts.list()).length;
});
const newConflicts = async () => (await sync.conflicts.list()).slice(conflictsBefore);

/** The ways a delta entry reaches the cache: each must treat an echo the same. */
const paths: Record<string, (E: Function) => Promise<unknown>> = {
  'pull(E)': (E) => sync.pull(E),
  'refresh(E)': (E) => sync.refresh(E),
  'ensureLoaded after the TTL': async (E) => {
    await dataSource.query(
      `UPDATE sharepoint_sync.cache_state SET loaded_at = loaded_at - interval '2 days' WHERE entity = $1`,
      [(E as { name: string }).name],
    );
    // Forget the in-process freshness (as a restart or the TTL running out would).
    parts.cache.invalidate(E);
    return sync.ensureLoaded(E);
  },
  'a full load after an expired delta token': async (E) => {
    emulator.expireDeltaTokens(list(`Echo ${(E as { name: string }).name.slice(4)}`).id);
    const [result] = await sync.pull(E);
    expect(result!.mode).toBe('full');
  },
};

describe('a pull meeting an unsent local change whose previous version we wrote (an echo)', () => {
  for (const [path, run] of Object.entries(paths)) {
    it(`${path}: no conflict; the update and the delete are sent; verify is clean`, async () => {
      const repo = dataSource.getRepository(Shared);
      const a = await repo.save({ name: 'a', size: 1 });
      const b = await repo.save({ name: 'b', size: 2 });
      await sync.flush();
      // The delta feed now holds our own creates; nobody pulled them yet.
      await repo.update(a.id, { size: 10 });
      await repo.delete(b.id);
      await run(Shared);
      expect(await newConflicts()).toEqual([]);
      expect((await sync.pending()).total).toBe(2);
      await sync.flush();
      expect(itemOf('Echo Shared', a.id)?.fields.Size).toBe(10);
      expect(itemOf('Echo Shared', b.id)).toBeUndefined();
      expect((await sync.pending()).total).toBe(0);
      expect((await repo.findOneByOrFail({ id: a.id })).size).toBe(10);
      expect(await repo.findOneBy({ id: b.id })).toBeNull();
      expect((await sync.verify([Shared])).ok).toBe(true);
    });
  }

  it('a pending soft delete (an update of deletedAt) survives a pull and is sent', async () => {
    const repo = dataSource.getRepository(Shared);
    const c = await repo.save({ name: 'soft', size: 3 });
    await sync.flush();
    await repo.softDelete(c.id);
    const [result] = await sync.pull(Shared);
    expect(await newConflicts()).toEqual([]);
    expect(result!.pendingLocal).toBeGreaterThanOrEqual(1);
    const row = (await repo.findOneOrFail({ where: { id: c.id }, withDeleted: true })) as Row;
    expect(row.deletedAt).toBeInstanceOf(Date);
    await sync.flush();
    expect(itemOf('Echo Shared', c.id)?.fields.DeletedAt).toBeTruthy();
    expect((await sync.verify([Shared])).ok).toBe(true);
  });

  it('the same record deleted on both sides: no conflict, nothing left to send', async () => {
    const repo = dataSource.getRepository(Shared);
    const d = await repo.save({ name: 'both', size: 4 });
    await sync.flush();
    await repo.delete(d.id);
    list('Echo Shared').deleteItem(itemOf('Echo Shared', d.id)!.id);
    await sync.pull(Shared);
    expect(await newConflicts()).toEqual([]);
    await sync.flush();
    expect((await sync.pending()).total).toBe(0);
    expect(await sync.deadLetters({ entity: 'EchoShared' })).toEqual([]);
    expect((await sync.verify([Shared])).ok).toBe(true);
  });

  it('SharePoint already holding the local value is not a conflict either', async () => {
    const repo = dataSource.getRepository(Shared);
    const e = await repo.save({ name: 'same', size: 5 });
    await sync.flush();
    await repo.update(e.id, { size: 50 });
    list('Echo Shared').updateItem(itemOf('Echo Shared', e.id)!.id, { Size: 50 });
    await sync.pull(Shared);
    expect(await newConflicts()).toEqual([]);
    await sync.flush();
    expect((await sync.pending()).total).toBe(0);
    expect(itemOf('Echo Shared', e.id)?.fields.Size).toBe(50);
    expect((await sync.verify([Shared])).ok).toBe(true);
  });
});

describe('a write-back whose answer was lost (sync_state.pending) coming back through delta', () => {
  it('is ours, not a conflict: a newer local value waiting behind it is still sent', async () => {
    const repo = dataSource.getRepository(Shared);
    const a = await repo.save({ name: 'lost', size: 1 });
    await sync.flush();
    await repo.update(a.id, { size: 10 });
    // SharePoint applies the PATCH, the worker never hears back (nor on the gateway's resend): it tries later.
    const fault = emulator.faults.inject({
      method: 'PATCH',
      path: /\/items\/\d+\/fields$/,
      scope: 'any',
      lostResponse: true,
    });
    await parts.writeback.runOnce({ ignoreWindows: true });
    fault.remove();
    expect(fault.hits).toBeGreaterThanOrEqual(1);
    expect((await sync.pending()).total).toBe(1);
    expect(itemOf('Echo Shared', a.id)?.fields.Size).toBe(10);
    await repo.update(a.id, { size: 20 });
    await sync.pull(Shared);
    expect(await newConflicts()).toEqual([]);
    expect((await repo.findOneByOrFail({ id: a.id })).size).toBe(20);
    await sync.flush();
    expect(itemOf('Echo Shared', a.id)?.fields.Size).toBe(20);
    expect(await newConflicts()).toEqual([]);
    expect((await sync.verify([Shared])).ok).toBe(true);
  });
});

describe('a real SharePoint change meeting an unsent local change is still exactly one conflict', () => {
  it('sharePointPriority: SharePoint’s value wins for that record only; the other pending change is sent', async () => {
    const repo = dataSource.getRepository(Shared);
    const a = await repo.save({ name: 'real-a', size: 1 });
    const b = await repo.save({ name: 'real-b', size: 2 });
    await sync.flush();
    await repo.update(a.id, { size: 11 });
    await repo.update(b.id, { size: 22 });
    list('Echo Shared').updateItem(itemOf('Echo Shared', a.id)!.id, { Size: 99 });
    await sync.pull(Shared);
    const found = await newConflicts();
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      twentyId: a.id,
      policy: 'sharePointPriority',
      resolution: 'sharepoint',
    });
    expect(found[0]!.remote).toMatchObject({ Size: 99 });
    expect(found[0]!.local).toMatchObject({ Size: 11 });
    expect((await repo.findOneByOrFail({ id: a.id })).size).toBe(99);
    await sync.flush();
    expect(itemOf('Echo Shared', a.id)?.fields.Size).toBe(99);
    expect(itemOf('Echo Shared', b.id)?.fields.Size).toBe(22);
    expect((await sync.pending()).total).toBe(0);
    expect(await newConflicts()).toHaveLength(1);
    expect((await sync.verify([Shared])).ok).toBe(true);
  });

  it('twentyPriority: the local value is sent over SharePoint’s, one conflict recorded', async () => {
    const repo = dataSource.getRepository(Local);
    const a = await repo.save({ name: 'mine', size: 1 });
    await sync.flush();
    await repo.update(a.id, { size: 12 });
    list('Echo Local').updateItem(itemOf('Echo Local', a.id)!.id, { Size: 98 });
    await sync.pull(Local);
    const found = await newConflicts();
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ twentyId: a.id, policy: 'twentyPriority', resolution: 'twenty' });
    await sync.flush();
    expect(itemOf('Echo Local', a.id)?.fields.Size).toBe(12);
    expect(await newConflicts()).toHaveLength(1);
    expect((await sync.verify([Local])).ok).toBe(true);
  });

  it('a person deleting an item whose local update waits: one conflict, SharePoint’s delete applied', async () => {
    const repo = dataSource.getRepository(Shared);
    const a = await repo.save({ name: 'gone', size: 1 });
    await sync.flush();
    await repo.update(a.id, { size: 13 });
    list('Echo Shared').deleteItem(itemOf('Echo Shared', a.id)!.id);
    await sync.pull(Shared);
    const found = await newConflicts();
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ twentyId: a.id, remote: null, resolution: 'sharepoint' });
    expect(await repo.findOne({ where: { id: a.id }, withDeleted: true })).toBeNull();
    await sync.flush();
    expect((await sync.pending()).total).toBe(0);
    expect((await sync.verify([Shared])).ok).toBe(true);
  });
});

describe('a webhook notification caused by our own write-back', () => {
  // Its own database, emulator and instance: notifications must not reach the other tests' lists.
  let hookDb: TestDatabase;
  let hookEmulator: Emulator;
  let hookSource: DataSource;
  let hookSync: SharePointSync;
  let receiver: http.Server;
  let gateOpen = true;
  const held: [http.IncomingMessage, http.ServerResponse][] = [];
  let handler: ((req: http.IncomingMessage, res: http.ServerResponse) => void) | undefined;

  beforeAll(async () => {
    hookDb = await createTestDatabase();
    hookEmulator = createEmulator({ sites: [SITE], seed: 41, notificationDelayMs: 5 });
    const { url } = await hookEmulator.listen();
    hookSource = new DataSource({ type: 'postgres', url: hookDb.url, entities: [Hooked], synchronize: true });
    await hookSource.initialize();
    // The application's HTTP server; notifications wait at a gate so the test decides when the pull runs.
    receiver = http.createServer((req, res) => {
      if (!handler) res.writeHead(503).end();
      else if (gateOpen || new URL(req.url ?? '/', 'http://x').searchParams.has('validationToken'))
        handler(req, res);
      else held.push([req, res]);
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    hookSync = await SharePointSync.attach(hookSource, {
      site: { hostname: 'contoso.sharepoint.com', path: '/sites/echo' },
      graph: { baseUrl: `${url}/v1.0`, budget: { resourceUnitsPerMinute: 1_000_000 } },
      writeback: { runWorker: false },
      inbound: { pollIntervalSeconds: 0 },
      webhooks: { baseUrl: base, clientState: 'echo-secret' },
    });
    handler = hookSync.webhooks.handler();
    await hookSync.loadAll();
    await hookSync.webhooks.ensureSubscriptions();
  });

  afterAll(async () => {
    await hookSync?.close();
    await hookSource?.destroy();
    receiver?.close();
    await hookEmulator?.close();
    await hookDb?.drop();
  });

  it('the second edit made before the notification’s pull still reaches SharePoint; no conflict', async () => {
    const repo = hookSource.getRepository(Hooked);
    const pulls: number[] = [];
    const off = hookSync.on((e) => {
      if (e.type === 'inbound.applied' && e.entity === 'EchoHooked') pulls.push(e.upserted);
    });
    gateOpen = false;
    const a = await repo.save({ name: 'hooked', size: 1 });
    await hookSync.flush();
    // Our own create notifies the list; meanwhile the application edits the record again.
    await waitFor(() => held.length > 0, { message: 'the notification of our own create' });
    await repo.update(a.id, { size: 2 });
    gateOpen = true;
    for (const [req, res] of held.splice(0)) handler!(req, res);
    await waitFor(() => pulls.length > 0, { message: 'the webhook-driven pull' });
    // Joins a pull still running (if a second notification came), so nothing changes under the asserts.
    await hookSync.pull(Hooked);
    off();
    expect(pulls.length).toBeGreaterThanOrEqual(1);
    expect(pulls.every((upserted) => upserted === 0)).toBe(true);
    expect(await hookSync.conflicts.list()).toEqual([]);
    expect((await repo.findOneByOrFail({ id: a.id })).size).toBe(2);
    await hookSync.flush();
    const item = hookEmulator
      .site(SITE)
      .list('Echo Hooked')!
      .items()
      .find((i) => i.fields.TwentyId === a.id);
    expect(item?.fields.Size).toBe(2);
    expect((await hookSync.verify()).ok).toBe(true);
  });
});
