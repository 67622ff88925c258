import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RebuildRefusedError, SharePointList, SharePointSync } from '../../src/index.js';
import { type Emulator, type EmulatorList } from '../../src/testing/index.js';
import { type AttachedSetup, createAttachedSetup } from '../support/attached.js';

// Issue 14, defect 5: a dead-lettered change exists only in PostgreSQL; rebuild() without force must refuse,
// exactly as it does for queued changes, and say what to do.

@SharePointList({ title: 'Rebuild Notes', priority: 'P1' })
@Entity('rebuild_note')
class Note {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 50 }) body!: string;
}

const SITE = 'contoso.sharepoint.com:/sites/rebuild';
let env: AttachedSetup;
let emulator: Emulator;
let dataSource: DataSource;
let sync: SharePointSync;

const list = (): EmulatorList => emulator.site(SITE).list('Rebuild Notes')!;
const itemOf = (id: string) =>
  list()
    .items()
    .find((i) => i.fields.TwentyId === id);

beforeAll(async () => {
  env = await createAttachedSetup({
    site: SITE,
    entities: [Note],
    emulator: { seed: 5 },
    options: {
      // No resends by the gateway and one attempt in the outbox: a failing write dead-letters at once.
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

/** Makes every write to the list fail while a flush dead-letters whatever is queued. */
async function deadLetterEverything(): Promise<void> {
  const fault = emulator.faults.inject({ path: /\/items(\/\d+(\/fields)?)?$/, scope: 'any', status: 503 });
  try {
    await expect(sync.flush()).rejects.toThrow(/dead/i);
  } finally {
    fault.remove();
  }
}

// One story on one database: each step starts from the rows and dead letters the previous one left, so the
// steps keep their order under --sequence.shuffle.
describe('rebuild() and dead letters', { shuffle: false }, () => {
  it('refuses while a dead-lettered create or update is the only copy, naming the count and the way out', async () => {
    const repo = dataSource.getRepository(Note);
    const kept = await repo.save({ body: 'sent' });
    await sync.flush();
    const created = await repo.save({ body: 'only here' });
    await repo.update(kept.id, { body: 'edited here' });
    await deadLetterEverything();
    expect(await sync.deadLetters()).toHaveLength(2);
    expect((await sync.pending()).total).toBe(0);

    const refused = await sync.rebuild().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RebuildRefusedError);
    const error = refused as RebuildRefusedError;
    expect(error.deadLetters).toEqual({ Note: 2 });
    expect(error.pending).toEqual({ Note: 2 });
    expect(error.message).toMatch(/2 change\(s\)/);
    expect(error.message).toMatch(/2 dead-lettered/);
    expect(error.message).toMatch(/retryDeadLetters\(\)/);
    expect(error.message).toMatch(/force: true/);
    // Nothing was dropped.
    expect((await repo.findOneByOrFail({ id: created.id })).body).toBe('only here');
    expect((await repo.findOneByOrFail({ id: kept.id })).body).toBe('edited here');

    // The way out the message names: re-queue, send, then rebuild keeps both.
    await sync.retryDeadLetters();
    await sync.flush();
    await sync.rebuild();
    expect((await repo.findOneByOrFail({ id: created.id })).body).toBe('only here');
    expect((await repo.findOneByOrFail({ id: kept.id })).body).toBe('edited here');
    expect(itemOf(created.id)?.fields.Body).toBe('only here');
    expect((await sync.verify()).ok).toBe(true);
  });

  it('counts queued and dead-lettered changes apart', async () => {
    const repo = dataSource.getRepository(Note);
    await repo.save({ body: 'dead' });
    await deadLetterEverything();
    await repo.save({ body: 'queued' });
    const error = (await sync.rebuild().catch((e: unknown) => e)) as RebuildRefusedError;
    expect(error).toBeInstanceOf(RebuildRefusedError);
    expect(error.queued).toEqual({ Note: 1 });
    expect(error.deadLetters).toEqual({ Note: 1 });
    expect(error.message).toMatch(/Note: 1 queued, 1 dead-lettered/);
    expect(error.message).toMatch(/flush\(\)/);
  });

  it('force discards queued and dead-lettered changes alike: the cache then holds what SharePoint has', async () => {
    const repo = dataSource.getRepository(Note);
    await sync.rebuild({ force: true });
    expect(await sync.deadLetters()).toEqual([]);
    expect((await sync.pending()).total).toBe(0);
    expect(await repo.findOneBy({ body: 'dead' })).toBeNull();
    expect(await repo.findOneBy({ body: 'queued' })).toBeNull();
    expect((await sync.verify()).ok).toBe(true);
    await sync.rebuild();
  });
});
