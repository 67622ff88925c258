import { randomUUID } from 'node:crypto';
import {
  Column,
  DeleteDateColumn,
  Entity,
  In,
  JoinTable,
  ManyToMany,
  ManyToOne,
  OneToMany,
  PrimaryColumn,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidTwentyIdError, RelationLoaders } from '../../src/relations/index.js';
import { rowToFields, SharePointList } from '../../src/schema/index.js';
import { type CacheHarness, createCacheHarness, SITE_REF } from '../cache/harness.js';

@SharePointList({ title: 'RCompanies' })
@Entity('r_company')
class RCompany {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 100 }) name!: string;
  @OneToMany(
    () => RPerson,
    (p) => p.company,
  )
  people?: RPerson[];
  @DeleteDateColumn({ type: 'timestamptz', nullable: true }) deletedAt?: Date | null;
}

@SharePointList({ title: 'RPeople' })
@Entity('r_person')
class RPerson {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 100 }) name!: string;
  @ManyToOne(
    () => RCompany,
    (c) => c.people,
    { nullable: true },
  )
  company?: RCompany | string | null;
  @ManyToMany(() => RTag)
  @JoinTable({ name: 'r_person_tags' })
  tags?: RTag[];
}

@SharePointList({ title: 'RTags' })
@Entity('r_tag')
class RTag {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 30 }) label!: string;
}

/** A text key: ids may hold quotes, which must be escaped in OData. */
@SharePointList({ title: 'RCodes' })
@Entity('r_code')
class RCode {
  @PrimaryColumn({ type: 'varchar', length: 36 }) id!: string;
  @Column({ type: 'varchar', length: 100 }) label!: string;
}

/** A primary key not called `id`: a related object is read by the target's own key. */
@SharePointList({ title: 'RDepartments' })
@Entity('r_department')
class RDepartment {
  @PrimaryGeneratedColumn('uuid') code!: string;
  @Column({ type: 'varchar', length: 100 }) title!: string;
}

@SharePointList({ title: 'RMembers' })
@Entity('r_member')
class RMember {
  @PrimaryGeneratedColumn('uuid') memberId!: string;
  @Column({ type: 'varchar', length: 100 }) name!: string;
  @ManyToOne(() => RDepartment, { nullable: true }) department?: RDepartment | null;
}

let h: CacheHarness;
let sql = 0;
const companyIds: string[] = [];

beforeAll(async () => {
  h = await createCacheHarness([RCompany, RPerson, RCode, RTag, RDepartment, RMember]);
  (h.dataSource as unknown as { logger: unknown }).logger = {
    logQuery: () => {
      sql++;
    },
    logQueryError() {},
    logQuerySlow() {},
    logSchemaBuild() {},
    logMigration() {},
    log() {},
  };
  const site = h.emulator.site(SITE_REF);
  const companies = site.list('RCompanies')!;
  const people = site.list('RPeople')!;
  for (let i = 0; i < 100; i++) {
    companyIds.push(randomUUID());
    companies.createItem(
      rowToFields(h.list(RCompany), { id: companyIds[i], name: `Company ${i}`, deletedAt: null }),
    );
  }
  for (let i = 0; i < 1000; i++) {
    people.createItem(
      rowToFields(h.list(RPerson), { id: randomUUID(), name: `Person ${i}`, companyId: companyIds[i % 100] }),
    );
  }
  await h.cache.ensureLoaded([RCompany, RPerson]);
}, 120_000);

afterAll(async () => {
  await h?.close();
});

describe('RelationLoaders', () => {
  it("resolves every person's company with 1 SQL query and 0 HTTP requests when cached", async () => {
    const persons = await h.dataSource.getRepository(RPerson).find({ loadRelationIds: true });
    expect(persons).toHaveLength(1000);
    const loaders = new RelationLoaders(h.ctx);
    sql = 0;
    h.emulator.log.reset();
    const companies = await Promise.all(persons.map((p) => loaders.related<RCompany>(p, 'company')));
    expect(sql).toBe(1);
    expect(h.emulator.log.entries).toHaveLength(0);
    for (const [i, p] of persons.entries()) expect((companies[i] as RCompany).id).toBe(p.company);
  });

  it('inverse for 100 companies is 1 SQL query', async () => {
    // The 100 companies of beforeAll (other tests add companies without people).
    const companies = await h.dataSource.getRepository(RCompany).findBy({ id: In(companyIds) });
    expect(companies).toHaveLength(100);
    const loaders = new RelationLoaders(h.ctx);
    sql = 0;
    const people = await Promise.all(companies.map((c) => loaders.inverse<RPerson>(c, 'people')));
    expect(sql).toBe(1);
    expect(people.map((p) => p.length)).toEqual(companies.map(() => 10));
  });

  it('fetches ids the cache lacks from SharePoint: ⌈missing/15⌉ filters inside one $batch, stored without write-back', async () => {
    const list = h.emulator.site(SITE_REF).list('RCompanies')!;
    const fresh = Array.from({ length: 30 }, () => randomUUID());
    for (const id of fresh)
      list.createItem(rowToFields(h.list(RCompany), { id, name: `New ${id.slice(0, 4)}`, deletedAt: null }));
    const loaders = new RelationLoaders(h.ctx);
    h.emulator.log.reset();
    // Cached ids no other test changes (soft-deleted ones would be looked for in SharePoint too).
    const found = await loaders.byId<RCompany>(RCompany).loadMany([...fresh, ...companyIds.slice(50, 55)]);
    expect(found.every((c) => c && !(c instanceof Error))).toBe(true);
    const outer = h.emulator.log.entries.filter((e) => !e.inBatch);
    const inner = h.emulator.log.entries.filter((e) => e.inBatch);
    expect(outer.map((e) => e.path)).toEqual(['/$batch']);
    expect(inner).toHaveLength(Math.ceil(30 / 15));
    expect(inner.every((e) => decodeURIComponent(e.query).includes("fields/TwentyId eq '"))).toBe(true);
    const [{ n }] = await h.dataSource.query('SELECT count(*)::int AS n FROM r_company WHERE id = ANY($1)', [
      fresh,
    ]);
    expect(n).toBe(30);
    // Other tests write through repositories (queued, never sent here): count this test's records only.
    const [{ o }] = await h.dataSource.query(
      'SELECT count(*)::int AS o FROM sharepoint_sync.outbox WHERE twenty_id = ANY($1)',
      [fresh],
    );
    expect(o).toBe(0);
  });

  it('unknown ids resolve to null; an id that is not a UUID rejects only its own load, before any request', async () => {
    const loaders = new RelationLoaders(h.ctx);
    h.emulator.log.reset();
    const [unknown, bad, good] = await loaders
      .byId(RCompany)
      .loadMany([randomUUID(), "x' or 1 eq 1 or 'x", companyIds[0]!]);
    expect(unknown).toBeNull();
    expect(bad).toBeInstanceOf(InvalidTwentyIdError);
    expect((good as RCompany).id).toBe(companyIds[0]);
    // Only the unknown (valid) id was looked for in SharePoint.
    const inner = h.emulator.log.entries.filter((e) => e.inBatch);
    expect(inner).toHaveLength(1);
    expect(decodeURIComponent(inner[0]!.query)).not.toContain(' or 1 eq 1');
  });

  it('escapes a quote in a TwentyId value (text keys)', async () => {
    h.emulator.site(SITE_REF).list('RCodes')!.createItem({ TwentyId: "O'Brien", Label: 'Irish', Title: 'x' });
    const loaders = new RelationLoaders(h.ctx);
    h.emulator.log.reset();
    const found = await loaders.byId<RCode>(RCode).load("O'Brien");
    expect(found?.label).toBe('Irish');
    expect(decodeURIComponent(h.emulator.log.entries.find((e) => e.inBatch)!.query)).toContain(
      "eq 'O''Brien'",
    );
  });

  it('soft-deleted targets resolve to null unless asked for', async () => {
    await h.dataSource.getRepository(RCompany).softDelete({ id: companyIds[1]! });
    try {
      expect(
        await new RelationLoaders(h.ctx, { fetchMissing: false }).byId(RCompany).load(companyIds[1]!),
      ).toBeNull();
      const withDeleted = await new RelationLoaders(h.ctx, { withDeleted: true })
        .byId<RCompany>(RCompany)
        .load(companyIds[1]!);
      expect(withDeleted?.deletedAt).toBeInstanceOf(Date);
    } finally {
      // The other tests expect every company of beforeAll alive, whatever the order.
      await h.dataSource.getRepository(RCompany).restore({ id: companyIds[1]! });
    }
  });

  it('many-to-many through the junction: 2 SQL queries for any number of owners', async () => {
    const tags = await h.dataSource
      .getRepository(RTag)
      .save([{ label: 'vip' }, { label: 'emea' }, { label: 'new' }]);
    const people = await h.dataSource.getRepository(RPerson).find({ take: 3, order: { name: 'ASC' } });
    people[0]!.tags = [tags[0]!, tags[1]!];
    people[1]!.tags = [tags[2]!];
    people[2]!.tags = [];
    await h.dataSource.getRepository(RPerson).save(people);
    const loaders = new RelationLoaders(h.ctx, { fetchMissing: false });
    sql = 0;
    const resolved = (await Promise.all(people.map((p) => loaders.related<RTag>(p, 'tags')))) as RTag[][];
    expect(sql).toBe(2);
    expect(resolved.map((list) => list.map((t) => t.label).sort())).toEqual([['emea', 'vip'], ['new'], []]);
  });

  it('plain objects (what repository.save({...}) returns) resolve when the entity is named; instances resolve either way', async () => {
    const company = await h.dataSource.getRepository(RCompany).save({ name: 'Plain Co' });
    const person = await h.dataSource
      .getRepository(RPerson)
      .save({ name: 'Plain Person', company: { id: company.id } as RCompany });
    expect(person).not.toBeInstanceOf(RPerson);
    const loaders = new RelationLoaders(h.ctx, { fetchMissing: false });

    await expect(loaders.related(person, 'company')).rejects.toThrow(
      /is not a synced entity instance.*loaders\.related\(Entity, record, 'company'\)/,
    );
    expect(((await loaders.related<RCompany>(RPerson, person, 'company')) as RCompany).name).toBe('Plain Co');
    expect(((await loaders.related<RCompany>('RPerson', person, 'company')) as RCompany).id).toBe(company.id);
    const people = await loaders.inverse<RPerson>(RCompany, company, 'people');
    expect(people.map((p) => p.name)).toEqual(['Plain Person']);
    await expect(loaders.inverse(company, 'people')).rejects.toThrow(/loaders\.inverse\(Entity, record/);

    // The instance form is unchanged, and an instance may be passed with its entity too.
    const instance = await h.dataSource
      .getRepository(RPerson)
      .findOneOrFail({ where: { id: person.id }, loadRelationIds: true });
    expect(instance).toBeInstanceOf(RPerson);
    expect(((await loaders.related<RCompany>(instance, 'company')) as RCompany).id).toBe(company.id);
    expect(((await loaders.related<RCompany>(RPerson, instance, 'company')) as RCompany).id).toBe(company.id);
    // Naming the wrong entity for an instance is refused, naming both.
    await expect(loaders.related(RCompany, instance, 'company')).rejects.toThrow(
      /loaders\.related\(RCompany, …\): the record is a RPerson/,
    );
  });

  it("a related object is read by the target's own key, whatever its primary column is called", async () => {
    await h.cache.ensureLoaded([RDepartment, RMember]);
    const department = await h.dataSource.getRepository(RDepartment).save({ title: 'Research' });
    const member = await h.dataSource
      .getRepository(RMember)
      .save({ name: 'Ada', department: { code: department.code } as RDepartment });
    const loaders = new RelationLoaders(h.ctx, { fetchMissing: false });
    const found = (await loaders.related<RDepartment>(RMember, member, 'department')) as RDepartment;
    expect(found.code).toBe(department.code);
    expect(found.title).toBe('Research');
    // A related object without its key resolves to nothing (not to the member's own or another id).
    expect(
      await loaders.related(RMember, { ...member, department: { title: 'Research' } }, 'department'),
    ).toBeNull();
  });

  it('a write in the same request is read back after prime/clear', async () => {
    const loaders = new RelationLoaders(h.ctx);
    const repo = h.dataSource.getRepository(RCompany);
    const before = await loaders.byId<RCompany>(RCompany).load(companyIds[2]!);
    await repo.update({ id: companyIds[2]! }, { name: 'Renamed' });
    expect((await loaders.byId<RCompany>(RCompany).load(companyIds[2]!))?.name).toBe(before?.name);
    loaders.prime(RCompany, await repo.findOneByOrFail({ id: companyIds[2]! }));
    expect((await loaders.byId<RCompany>(RCompany).load(companyIds[2]!))?.name).toBe('Renamed');
    await repo.update({ id: companyIds[2]! }, { name: 'Renamed again' });
    loaders.clear(RCompany, companyIds[2]!);
    expect((await loaders.byId<RCompany>(RCompany).load(companyIds[2]!))?.name).toBe('Renamed again');
  });
});
