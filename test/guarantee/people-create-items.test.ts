import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SharePointList } from '../../src/index.js';
import { type AttachedSetup, createAttachedSetup } from '../support/attached.js';

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
});
