import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { SharePointList } from 'typeorm-sharepoint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AttachedSetup, createAttachedSetup } from '../support/attached.js';

// Found by the soak: an item a person added without a TwentyId got two (two rows in PostgreSQL, one of them
// never in SharePoint). Delta may repeat an entry, and two processes may pull the same new item: the id is
// written conditionally (If-Match), so only the first one sticks.

const SITE = 'contoso.sharepoint.com:/sites/assign';

@SharePointList({ title: 'Assigned' })
@Entity('assigned')
class Assigned {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 40, nullable: true }) name?: string | null;
}

let env: AttachedSetup;
const attachOne = () => env.attach();

beforeAll(async () => {
  // Every delta page repeats one of its entries: the same new item twice in one pass.
  env = await createAttachedSetup({
    site: SITE,
    entities: [Assigned],
    emulator: { seed: 3, deltaRepeatProbability: 1 },
    options: { cache: { pageSize: 5 } },
  });
});
afterAll(async () => {
  await env?.close();
});

describe('items added in SharePoint without a TwentyId', () => {
  it('20 items, delta repeating entries, two attaches pulling at once: 20 rows, 20 distinct TwentyIds on both sides', async () => {
    const a = await attachOne();
    const b = await attachOne();
    await a.sync.ensureLoaded(Assigned);
    // The site owner lets people add items without TwentyId (the column is not required in SharePoint's form).
    const list = env.emulator.site(SITE).list('Assigned')!;
    const column = list.columns().find((c) => c.name === 'TwentyId')!;
    const patched = await fetch(
      `${env.baseUrl}/sites/${env.emulator.site(SITE).id}/lists/${list.id}/columns/${column.id}`,
      {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ required: false }),
      },
    );
    expect(patched.status).toBe(200);
    for (let i = 0; i < 20; i++) list.createItem({ Title: `added ${i}`, Name: `added ${i}` });

    await Promise.all([a.sync.pull(Assigned), b.sync.pull(Assigned)]);
    await Promise.all([a.sync.pull(Assigned), b.sync.pull(Assigned)]);

    const items = list.items();
    const spIds = items.map((i) => i.fields.TwentyId as string);
    expect(items).toHaveLength(20);
    expect(spIds.every((id) => typeof id === 'string' && id.length === 36)).toBe(true);
    expect(new Set(spIds).size).toBe(20);
    const rows = (await a.dataSource.query('SELECT id::text AS id FROM assigned')) as { id: string }[];
    expect(rows.map((r) => r.id).sort()).toEqual([...spIds].sort());
    expect((await a.sync.verify()).ok).toBe(true);
  });
});
