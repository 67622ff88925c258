import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SharePointList, type SharePointSyncOptions } from '../../src/index.js';
import { attachSync } from '../../src/sync/index.js';
import { type AttachedSetup, createAttachedSetup } from '../support/attached.js';
import { createTestDatabase } from '../support/database.js';

// Issue 17, "People create items in SharePoint": items added through plain Graph calls (as Power Automate or
// any Graph client adds them) carry no TwentyId. The column is not required (bootstrap made it so), the
// emulator accepts such items as SharePoint does, and the next pull gives each item one id on both sides —
// exactly once, even when two processes pull at the same moment.

const SITE = 'contoso.sharepoint.com:/sites/people-create';

@SharePointList({ title: 'Leads' })
@Entity('lead')
class Lead {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 40 }) name!: string;
}

let env: AttachedSetup;
const attachOne = () => env.attach();

beforeAll(async () => {
  // Every delta page repeats one of its entries: the same new item twice in one pass.
  env = await createAttachedSetup({
    site: SITE,
    entities: [Lead],
    emulator: { seed: 17, deltaRepeatProbability: 1 },
    options: { graph: { budget: { resourceUnitsPerMinute: 1_000_000 } }, cache: { pageSize: 5 } },
  });
});
afterAll(async () => {
  await env?.close();
});

describe('items people create in SharePoint', () => {
  it('20 items posted through plain Graph calls without a TwentyId, two attaches pulling at once: 20 rows, 20 distinct TwentyIds on both sides, after one pull', async () => {
    const a = await attachOne();
    const b = await attachOne();
    await Promise.all([a.sync.ensureLoaded(Lead), b.sync.ensureLoaded(Lead)]);
    const list = env.emulator.site(SITE).list('Leads')!;
    expect(list.columns().find((c) => c.name === 'TwentyId')).toMatchObject({
      required: false,
      indexed: true,
      enforceUniqueValues: true,
    });
    const itemsUrl = `${env.baseUrl}/sites/${env.emulator.site(SITE).id}/lists/${list.id}/items`;
    for (let i = 0; i < 20; i++) {
      const created = await fetch(itemsUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ fields: { Title: `lead ${i}`, Name: `lead ${i}` } }),
      });
      expect(created.status).toBe(201);
    }
    expect(list.items().filter((i) => i.fields.TwentyId === undefined)).toHaveLength(20);

    env.emulator.log.reset();
    await Promise.all([a.sync.pull(Lead), b.sync.pull(Lead)]);

    // After one concurrent pull: every item has one id in SharePoint and its row in PostgreSQL.
    const spIds = list.items().map((i) => i.fields.TwentyId as string);
    expect(spIds.every((id) => typeof id === 'string' && id.length === 36)).toBe(true);
    expect(new Set(spIds).size).toBe(20);
    const rows = (await a.dataSource.query('SELECT id::text AS id FROM lead')) as { id: string }[];
    expect(rows.map((r) => r.id).sort()).toEqual([...spIds].sort());
    // Each item's id was written exactly once (the other writer's If-Match lost, and it did not try again).
    const idWrites = env.emulator.log.entries.filter(
      (e) => e.method === 'PATCH' && /\/items\/\d+\/fields$/.test(e.path) && e.status === 200,
    );
    expect(idWrites).toHaveLength(20);
    expect(new Set(idWrites.map((e) => e.path)).size).toBe(20);

    // Later pulls by either process change nothing and write nothing.
    const before = env.emulator.log.entries.length;
    await Promise.all([a.sync.pull(Lead), b.sync.pull(Lead)]);
    expect(env.emulator.log.entries.slice(before).filter((e) => e.method !== 'GET')).toEqual([]);
    expect(list.items().map((i) => i.fields.TwentyId)).toEqual(spIds);
    expect(((await b.dataSource.query('SELECT count(*)::int AS n FROM lead')) as { n: number }[])[0]!.n).toBe(
      20,
    );
    expect((await a.sync.verify()).ok).toBe(true);
    expect((await b.sync.pending()).total).toBe(0);
  });

  it('two caches on two databases race for the same new items: one TwentyId each; the cache whose If-Match lost reads the item again and takes the winner’s id', async () => {
    // Two deployments caching one site (e.g. `allowSharedSites`): no shared advisory lock orders their pulls.
    // The gates make the race certain: B reads its first page before A writes any id, and B writes only
    // after A's pull is over, so every id B tries to give was given by A first.
    let racing = false;
    let bHasRead!: () => void;
    const bReadFirstPage = new Promise<void>((r) => (bHasRead = r));
    let aFinished!: () => void;
    const aDone = new Promise<void>((r) => (aFinished = r));
    const gated =
      (side: 'a' | 'b'): typeof fetch =>
      async (input, init) => {
        const method = (init?.method ?? 'GET').toUpperCase();
        if (racing && method !== 'GET') await (side === 'a' ? bReadFirstPage : aDone);
        const answer = await fetch(input, init);
        if (racing && side === 'b' && method === 'GET' && String(input).includes('/items')) bHasRead();
        return answer;
      };
    const other = await createTestDatabase();
    const dsB = await new DataSource({
      type: 'postgres',
      url: other.url,
      entities: [Lead],
      synchronize: true,
    }).initialize();
    try {
      const a = await env.attach({ graph: { fetch: gated('a') } });
      const { sync: syncB } = await attachSync(dsB, {
        site: env.site,
        graph: { baseUrl: env.baseUrl, fetch: gated('b'), budget: { resourceUnitsPerMinute: 1_000_000 } },
        writeback: { runWorker: false },
        inbound: { pollIntervalSeconds: 0 },
        cache: { pageSize: 5 },
      } as SharePointSyncOptions);
      try {
        await Promise.all([a.sync.ensureLoaded(Lead), syncB.ensureLoaded(Lead)]);
        const list = env.emulator.site(SITE).list('Leads')!;
        const known = new Set(list.items().map((i) => i.id));
        const itemsUrl = `${env.baseUrl}/sites/${env.emulator.site(SITE).id}/lists/${list.id}/items`;
        for (let i = 0; i < 20; i++) {
          const created = await fetch(itemsUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ fields: { Title: `race ${i}`, Name: `race ${i}` } }),
          });
          expect(created.status).toBe(201);
        }
        const fresh = () => list.items().filter((i) => !known.has(i.id));

        env.emulator.log.reset();
        racing = true;
        const pullB = syncB.pull(Lead);
        await a.sync.pull(Lead);
        aFinished();
        await pullB;
        racing = false;

        const spIds = fresh().map((i) => i.fields.TwentyId as string);
        expect(new Set(spIds).size).toBe(20);
        expect(spIds.every((id) => typeof id === 'string' && id.length === 36)).toBe(true);
        const idWrites = env.emulator.log.entries.filter(
          (e) => e.method === 'PATCH' && /\/items\/\d+\/fields$/.test(e.path),
        );
        expect(idWrites.filter((e) => e.status === 200)).toHaveLength(20);
        // B lost at least its first page's race: the If-Match path really ran.
        expect(idWrites.filter((e) => e.status === 412).length).toBeGreaterThanOrEqual(5);
        const idsIn = async (ds: DataSource) =>
          ((await ds.query(`SELECT id::text AS id FROM lead WHERE name LIKE 'race %'`)) as { id: string }[])
            .map((r) => r.id)
            .sort();
        expect(await idsIn(a.dataSource)).toEqual([...spIds].sort());
        // The items B lost the race for are in B's cache already, under A's ids: B read them again, and did
        // not count on a later delta to bring them (a delta pass may have gone past A's change).
        const contestedIds = idWrites
          .filter((e) => e.status === 412)
          .map((e) => /\/items\/(\d+)\/fields$/.exec(e.path)![1]!)
          .map((itemId) => list.item(itemId)!.fields.TwentyId as string);
        const inB = new Set(await idsIn(dsB));
        expect(contestedIds.filter((id) => !inB.has(id))).toEqual([]);
        // Items A changed while B's pass was paging come with B's next delta (the pass ends at its start).
        await syncB.pull(Lead);
        expect(await idsIn(dsB)).toEqual([...spIds].sort());
        // And later pulls by either write nothing.
        const before = env.emulator.log.entries.length;
        await Promise.all([a.sync.pull(Lead), syncB.pull(Lead)]);
        expect(env.emulator.log.entries.slice(before).filter((e) => e.method !== 'GET')).toEqual([]);
        expect((await syncB.verify()).ok).toBe(true);
        expect((await a.sync.verify()).ok).toBe(true);
      } finally {
        await syncB.close();
      }
    } finally {
      await dsB.destroy();
      await other.drop();
    }
  });
});
