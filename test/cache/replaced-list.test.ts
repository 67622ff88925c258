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
  it('gets fresh GUIDs per emulator instance, as SharePoint does, even with the same seed', () => {
    const a = createEmulator({ sites: [SITE], seed: 7 });
    const b = createEmulator({ sites: [SITE], seed: 7 });
    expect(a.site(SITE).id).not.toBe(b.site(SITE).id);
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
});
