import { randomUUID } from 'node:crypto';
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { SharePointList, SharePointSync } from 'typeorm-sharepoint';
import { createEmulator, type Emulator } from 'typeorm-sharepoint/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

// Issue 15, "The cache notices a replaced list": an emulator started again (same seed) or a list deleted and
// created again in SharePoint is a new list; the cache must not keep serving the old one's rows.

const SITE = 'contoso.sharepoint.com:/sites/replaced';

@SharePointList({ title: 'Replaced Things' })
@Entity('replaced_thing')
class ReplacedThing {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 50 }) name!: string;
}

let db: TestDatabase;
const cleanup: (() => Promise<unknown>)[] = [];

async function session(emulator: Emulator) {
  const { url } = await emulator.listen();
  const dataSource = await new DataSource({
    type: 'postgres',
    url: db.url,
    entities: [ReplacedThing],
    synchronize: true,
  }).initialize();
  const sync = await SharePointSync.attach(dataSource, {
    site: { hostname: 'contoso.sharepoint.com', path: '/sites/replaced' },
    graph: { baseUrl: `${url}/v1.0` },
    writeback: { runWorker: false },
    inbound: { pollIntervalSeconds: 0 },
  });
  const close = async () => {
    await sync.close();
    if (dataSource.isInitialized) await dataSource.destroy();
    await emulator.close();
  };
  cleanup.push(close);
  return { dataSource, sync, close };
}

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  for (const close of cleanup.reverse()) await close().catch(() => undefined);
  await db?.drop();
});

describe('a replaced list', () => {
  it('a list gets a fresh GUID per emulator instance, as SharePoint gives a recreated list; the site keeps its id', () => {
    const a = createEmulator({ sites: [SITE], seed: 7 });
    const b = createEmulator({ sites: [SITE], seed: 7 });
    expect(a.site(SITE).id).toBe(b.site(SITE).id);
    const listA = a.site(SITE).createList({ displayName: 'Same Title' });
    const listB = b.site(SITE).createList({ displayName: 'Same Title' });
    expect(listA.id).not.toBe(listB.id);
  });

  it('an emulator started again with the database kept: the cache reloads instead of serving old rows', async () => {
    const first = await session(createEmulator({ sites: [SITE], seed: 7 }));
    const repo = first.dataSource.getRepository(ReplacedThing);
    await repo.save([{ name: 'old a' }, { name: 'old b' }]);
    await first.sync.flush();
    await first.sync.ensureLoaded(ReplacedThing);
    await first.close();

    const second = await session(createEmulator({ sites: [SITE], seed: 7 }));
    const list = second.sync.lists.find((l) => l.entityName === 'ReplacedThing')!;
    expect(list).toBeDefined();
    const result = (await second.sync.ensureLoaded(ReplacedThing))[0]!;
    expect(result.mode).not.toBe('cached');
    expect(await second.dataSource.getRepository(ReplacedThing).count()).toBe(0);
    expect((await second.sync.verify()).ok).toBe(true);
  });

  it('changes still unsent for the old list go to the new list as creates, never to an old item id', async () => {
    const first = await session(createEmulator({ sites: [SITE], seed: 8 }));
    const repo = first.dataSource.getRepository(ReplacedThing);
    const [kept, edited] = await repo.save([{ name: 'synced, untouched' }, { name: 'synced, then edited' }]);
    await first.sync.flush();
    await repo.update(edited!.id, { name: 'edited, never sent' });
    await first.close();

    // The new list gets unrelated items first: they take item ids 1 and 2, the ids the old list gave `kept`
    // and `edited`. Sent to item 2, the unsent edit would overwrite someone else's record.
    const emulator = createEmulator({ sites: [SITE], seed: 8 });
    const second = await session(emulator);
    const list = emulator.site(SITE).list('Replaced Things')!;
    const strangers = ['someone else', 'another one'].map((name) =>
      list.createItem({ Title: name, Name: name, TwentyId: randomUUID() }),
    );
    await second.sync.flush();
    await second.sync.ensureLoaded(ReplacedThing);
    const items = emulator.site(SITE).list('Replaced Things')!.items();
    expect(strangers.map((st) => items.find((i) => i.id === st.id)!.fields.Name)).toEqual([
      'someone else',
      'another one',
    ]);
    expect(items.filter((i) => i.fields.TwentyId === edited!.id).map((i) => i.fields.Name)).toEqual([
      'edited, never sent',
    ]);
    expect(items.some((i) => i.fields.TwentyId === kept!.id)).toBe(false);
    expect(await second.dataSource.getRepository(ReplacedThing).findOneBy({ id: kept!.id })).toBeNull();
  });
});
