import { Column, DataSource, Entity, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { SharePointList, type SharePointSync } from 'typeorm-sharepoint';
import type { Emulator } from 'typeorm-sharepoint/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AttachedSetup, createAttachedSetup } from '../support/attached.js';

// Found by the soak: a person in SharePoint deletes a company that people still point at. The pull removes
// the company from the cache and PostgreSQL empties the relation (ON DELETE SET NULL); SharePoint keeps the
// id of a record that no longer exists. That relation is empty on both sides: verify must not call it drift.

const SITE = 'contoso.sharepoint.com:/sites/dangling';

@SharePointList({ title: 'Dangling Companies' })
@Entity('dangling_company')
class DanglingCompany {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 40 }) name!: string;
}

@SharePointList({ title: 'Dangling People' })
@Entity('dangling_person')
class DanglingPerson {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 40 }) name!: string;
  @ManyToOne(() => DanglingCompany, { nullable: true, onDelete: 'SET NULL' })
  company?: DanglingCompany | null;
}

let env: AttachedSetup;
let dataSource: DataSource;
let sync: SharePointSync;
let emulator: Emulator;

beforeAll(async () => {
  env = await createAttachedSetup({
    site: SITE,
    entities: [DanglingCompany, DanglingPerson],
  });
  emulator = env.emulator;
  ({ dataSource, sync } = await env.attach());
});

afterAll(async () => {
  await env?.close();
});

describe('verify and relations to records deleted in SharePoint', () => {
  it('an id SharePoint keeps for a deleted record equals the empty relation in PostgreSQL; a real difference still shows', async () => {
    const acme = await dataSource.getRepository(DanglingCompany).save({ name: 'Acme' });
    const ann = await dataSource.getRepository(DanglingPerson).save({ name: 'Ann', company: acme });
    const bob = await dataSource.getRepository(DanglingPerson).save({ name: 'Bob' });
    await sync.flush();
    await sync.ensureLoaded([DanglingCompany, DanglingPerson]);

    const companies = emulator.site(SITE).list('Dangling Companies')!;
    companies.deleteItem(companies.items().find((i) => i.fields.Name === 'Acme')!.id);
    await sync.pull();
    const [row] = await dataSource.query('SELECT "companyId" FROM dangling_person WHERE id = $1', [ann.id]);
    expect(row.companyId).toBeNull();
    const people = emulator.site(SITE).list('Dangling People')!;
    expect(people.items().find((i) => i.fields.TwentyId === ann.id)!.fields.CompanyId).toBe(acme.id);
    expect((await sync.verify()).ok).toBe(true);

    // A relation SharePoint sets to a record that does not exist anywhere, on a person whose name also
    // differs, is still drift (only the dangling id is forgiven).
    people.updateItem(people.items().find((i) => i.fields.TwentyId === bob.id)!.id, { Name: 'Robert' });
    const report = await sync.verify();
    expect(report.ok).toBe(false);
    expect(report.lists.find((l) => l.entity === 'DanglingPerson')!.differingCount).toBe(1);
  });
});
