import { Column, DataSource, Entity, EntitySchema, PrimaryGeneratedColumn } from 'typeorm';
import {
  type ListConfig,
  SchemaError,
  SharePointColumn,
  SharePointList,
  SharePointSync,
  ValidationError,
} from 'typeorm-sharepoint';
import { createEmulator, type Emulator } from 'typeorm-sharepoint/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

// Issue 18, "Lists configured without decorators": Twenty builds EntitySchemas at run time; attach's
// `lists` configures them with the same rules as decorated classes.

const SITE = 'contoso.sharepoint.com:/sites/schemas';

interface CompanyRow {
  id: string;
  name: string;
  searchVector?: string | null;
  logo?: Buffer | null;
}
interface PersonRow {
  id: string;
  jobTitle: string;
  companyId?: string | null;
  company?: CompanyRow | null;
}

const company = new EntitySchema<CompanyRow>({
  name: 'company',
  tableName: 'company',
  columns: {
    id: { type: 'uuid', primary: true, generated: 'uuid' },
    name: { type: 'text', nullable: false, default: '' },
    // Derived by PostgreSQL (Twenty's generated search column): never synced, never refused.
    searchVector: {
      type: 'tsvector',
      nullable: true,
      generatedType: 'STORED',
      asExpression: `to_tsvector('simple', COALESCE("name", ''))`,
    },
    logo: { type: 'bytea', nullable: true },
  },
});

const person = new EntitySchema<PersonRow>({
  name: 'person',
  tableName: 'person',
  columns: {
    id: { type: 'uuid', primary: true, generated: 'uuid' },
    jobTitle: { type: 'text', nullable: false, default: '' },
    companyId: { type: 'uuid', nullable: true },
  },
  relations: {
    company: { type: 'many-to-one', target: 'company', joinColumn: { name: 'companyId' }, nullable: true },
  },
});

@SharePointList({ title: 'Decorated Things', priority: 'P2' })
@Entity('decorated_thing')
class DecoratedThing {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 20 }) name!: string;
}

/** A column option set by the decorator and by attach's lists. */
@Entity('conflicting_thing')
class ConflictingThing {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @SharePointColumn({ maxLength: 20 }) @Column({ type: 'text' }) name!: string;
}

/** A decorated class whose lists config leaves one column out. */
@SharePointList({ title: 'Ignored Things' })
@Entity('ignored_thing')
class IgnoredThing {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 50 }) name!: string;
  @Column({ type: 'text', nullable: true }) notes?: string | null;
}

/** Plain TypeORM classes, no decorator of the library: synced only when attach's lists names them. */
@Entity('plain_thing')
class PlainThing {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 40 }) label!: string;
}
@Entity('plain_other')
class PlainOther {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 40 }) label!: string;
}

interface TicketRow {
  id: string;
  subject: string;
  slug?: string;
  region?: string;
}

/** Two columns PostgreSQL fills itself, marked derived with `false`: `slug` by a trigger, `region` by a DEFAULT. */
const ticket = new EntitySchema<TicketRow>({
  name: 'ticket',
  tableName: 'ticket',
  columns: {
    id: { type: 'uuid', primary: true, generated: 'uuid' },
    subject: { type: 'varchar', length: 100 },
    slug: { type: 'text' },
    region: { type: 'text', default: 'EMEA' },
  },
});

const LISTS: Record<string, ListConfig> = {
  company: { title: 'Companies', priority: 'P0', columns: { logo: false } },
  person: { title: 'People', columns: { jobTitle: { maxLength: 50 } } },
};

let db: TestDatabase;
let emulator: Emulator;
let baseUrl: string;
const sources: DataSource[] = [];
const syncs: SharePointSync[] = [];

async function dataSource(entities: (Function | EntitySchema)[]) {
  const ds = await new DataSource({
    type: 'postgres',
    url: db.url,
    entities,
    synchronize: true,
  }).initialize();
  sources.push(ds);
  return ds;
}

async function attach(ds: DataSource, lists: Record<string, ListConfig>, extra = {}) {
  const sync = await SharePointSync.attach(ds, {
    site: { hostname: 'contoso.sharepoint.com', path: '/sites/schemas' },
    graph: { baseUrl },
    writeback: { runWorker: false },
    inbound: { pollIntervalSeconds: 0 },
    lists,
    ...extra,
  });
  syncs.push(sync);
  return sync;
}

beforeAll(async () => {
  db = await createTestDatabase();
  emulator = createEmulator({ sites: [SITE] });
  baseUrl = `${(await emulator.listen()).url}/v1.0`;
});

afterAll(async () => {
  for (const sync of syncs) await sync.close();
  for (const ds of sources) if (ds.isInitialized) await ds.destroy();
  await emulator?.close();
  await db?.drop();
});

// The rebuild step reloads what the first step wrote: the order holds under shuffle.
describe("attach's lists: EntitySchemas without decorators (real PostgreSQL, loopback emulator)", {
  shuffle: false,
}, () => {
  it('syncs EntitySchema entities: lists, columns, priority, relation, ignored property, validation', async () => {
    const ds = await dataSource([company, person]);
    const sync = await attach(ds, LISTS, { conflictResolution: 'lastWriteWins' });
    expect(sync.lists.map((l) => [l.entityName, l.title, l.priority, l.conflictResolution])).toEqual([
      ['company', 'Companies', 'P0', 'lastWriteWins'],
      ['person', 'People', 'P1', 'lastWriteWins'],
    ]);
    const columns = emulator
      .site(SITE)
      .list('Companies')!
      .columns()
      .map((c) => c.name);
    expect(columns).toContain('Name');
    expect(columns).not.toContain('SearchVector');
    expect(columns).not.toContain('Logo');
    const people = emulator.site(SITE).list('People')!.columns();
    // `text` is multi-line in SharePoint (no length facet there); the configured maxLength is validated.
    expect(people.find((c) => c.name === 'JobTitle')).toMatchObject({ text: { allowMultipleLines: true } });
    expect(people.find((c) => c.name === 'CompanyId')).toMatchObject({ indexed: true });

    const acme = await ds.getRepository<CompanyRow>('company').save({ name: 'Acme' });
    await ds.getRepository<PersonRow>('person').save({ jobTitle: 'CEO', company: acme });
    const refused = await ds
      .getRepository<PersonRow>('person')
      .save({ jobTitle: 'x'.repeat(51) })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ValidationError);
    expect(refused).toMatchObject({ entity: 'person', field: 'jobTitle', rule: 'maxLength' });
    await sync.flush();
    const [item] = emulator.site(SITE).list('People')!.items();
    expect(item!.fields).toMatchObject({ JobTitle: 'CEO', CompanyId: acme.id });
    expect(emulator.site(SITE).list('Companies')!.items()[0]!.fields.Name).toBe('Acme');
  });

  it('a generated search column is derived again by a rebuild (drop the rows, load from SharePoint)', async () => {
    const ds = sources[0]!;
    const sync = syncs[0]!;
    await sync.rebuild();
    const [row] = await ds.query(`SELECT name, "searchVector"::text AS sv FROM company`);
    expect(row).toEqual({ name: 'Acme', sv: "'acme':1" });
    expect((await sync.verify()).ok).toBe(true);
  });

  it('a property SharePoint cannot hold is a SchemaError unless the lists config leaves it out', async () => {
    const ds = await dataSource([company, person]);
    const error = await attach(ds, { company: { title: 'Companies' }, person: LISTS.person! }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SchemaError);
    expect((error as Error).message).toMatch(/company\.logo: type "bytea"/);
  });

  it('an entity the DataSource does not have is a SchemaError naming it', async () => {
    const ds = await dataSource([company, person]);
    const error = await attach(ds, { ...LISTS, opportunity: { title: 'Opportunities' } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SchemaError);
    expect(error).toMatchObject({ entity: 'opportunity', rule: 'unknownEntity' });
  });

  it('a column path that is not a property is a SchemaError (a typo would sync the column silently)', async () => {
    const ds = await dataSource([company, person]);
    const error = await attach(ds, {
      ...LISTS,
      company: { title: 'Companies', columns: { logo: false, searchVectr: false } },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaError);
    expect(error).toMatchObject({ entity: 'company', column: 'searchVectr', rule: 'unknownProperty' });
  });

  it('decorators and lists merge; the same option set differently in both is a SchemaError', async () => {
    const ds = await dataSource([DecoratedThing]);
    const merged = await attach(ds, {
      DecoratedThing: { title: 'Decorated Things', conflictResolution: 'manualReview' },
    });
    expect(merged.lists[0]).toMatchObject({
      title: 'Decorated Things',
      priority: 'P2',
      conflictResolution: 'manualReview',
    });
    const error = await attach(ds, { DecoratedThing: { priority: 'P0' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaError);
    expect(error).toMatchObject({ entity: 'DecoratedThing', rule: 'conflictingOptions' });
    expect((error as Error).message).toContain('"P2" in @SharePointList but "P0"');
  });
  // The class side of attach's lists. Each sync below keeps its own library schema, so its flushes and its
  // rebuild meet only its own rows.

  it('a column option set differently by @SharePointColumn and lists is a SchemaError naming entity and column', async () => {
    const ds = await dataSource([ConflictingThing]);
    const error = await attach(
      ds,
      { ConflictingThing: { title: 'Conflicting Things', columns: { name: { maxLength: 30 } } } },
      { schema: 'sp_conflicting' },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaError);
    expect(error).toMatchObject({
      code: 'SCHEMA_INVALID',
      entity: 'ConflictingThing',
      column: 'name',
      rule: 'conflictingOptions',
    });
    expect((error as Error).message).toContain(
      "ConflictingThing.name: maxLength is 20 in @SharePointColumn but 30 in attach's lists",
    );
    expect(emulator.site(SITE).list('Conflicting Things')).toBeUndefined();
    // The same value in both places is no conflict.
    const agreed = await attach(
      ds,
      { ConflictingThing: { title: 'Conflicting Things', columns: { name: { maxLength: 20 } } } },
      { schema: 'sp_conflicting' },
    );
    expect(agreed.lists[0]!.fields.find((f) => f.property === 'name')).toMatchObject({ maxLength: 20 });
  });

  it('columns.x: false on a decorated class: no SharePoint column, its value never sent', async () => {
    const ds = await dataSource([IgnoredThing]);
    const sync = await attach(ds, { IgnoredThing: { columns: { notes: false } } }, { schema: 'sp_ignored' });
    expect(sync.lists.map((l) => [l.entityName, l.title])).toEqual([['IgnoredThing', 'Ignored Things']]);
    expect(sync.lists[0]!.fields.map((f) => f.property)).not.toContain('notes');
    const list = emulator.site(SITE).list('Ignored Things')!;
    const columns = list.columns().map((c) => c.name);
    expect(columns).toContain('Name');
    expect(columns).not.toContain('Notes');
    const saved = await ds.getRepository(IgnoredThing).save({ name: 'kept', notes: 'local only' });
    await ds.getRepository(IgnoredThing).update(saved.id, { notes: 'still local' });
    await sync.flush();
    const [item] = list.items();
    expect(item!.fields).toMatchObject({ Name: 'kept', TwentyId: saved.id });
    expect(Object.keys(item!.fields)).not.toContain('Notes');
    expect(Object.values(item!.fields)).not.toContain('still local');
    expect(Object.values(item!.fields)).not.toContain('local only');
  });

  it('an undecorated @Entity class configured only in lists is synced; one lists does not name is not', async () => {
    const ds = await dataSource([PlainThing, PlainOther]);
    const sync = await attach(
      ds,
      {
        PlainThing: {
          title: 'Plain Things',
          priority: 'P0',
          columns: { label: { displayName: 'Label text' } },
        },
      },
      { schema: 'sp_plain' },
    );
    expect(sync.lists.map((l) => [l.entityName, l.title, l.priority])).toEqual([
      ['PlainThing', 'Plain Things', 'P0'],
    ]);
    const list = emulator.site(SITE).list('Plain Things')!;
    expect(list.columns().find((c) => c.name === 'Label')).toMatchObject({
      displayName: 'Label text',
      text: { maxLength: 40 },
    });
    // The rules of decorated classes: varchar(40) validated before commit.
    const refused = await ds
      .getRepository(PlainThing)
      .save({ label: 'x'.repeat(41) })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ entity: 'PlainThing', field: 'label', rule: 'maxLength' });
    const saved = await ds.getRepository(PlainThing).save({ label: 'synced' });
    await ds.getRepository(PlainOther).save({ label: 'local' });
    expect((await sync.flush()).sent).toBe(1);
    expect(list.items().map((i) => [i.fields.TwentyId, i.fields.Label])).toEqual([[saved.id, 'synced']]);
    expect(emulator.site(SITE).list('Plain Others')).toBeUndefined();
  });

  it('a column marked derived (false) is left to PostgreSQL: a rebuild fills it by its trigger or DEFAULT', async () => {
    const ds = await dataSource([ticket]);
    await ds.query(`CREATE FUNCTION ticket_slug() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN NEW.slug := lower(regexp_replace(NEW.subject, '[^A-Za-z0-9]+', '-', 'g')); RETURN NEW; END $$`);
    await ds.query(
      'CREATE TRIGGER ticket_slug BEFORE INSERT OR UPDATE ON ticket FOR EACH ROW EXECUTE FUNCTION ticket_slug()',
    );
    const sync = await attach(
      ds,
      { ticket: { title: 'Tickets', columns: { slug: false, region: false } } },
      { schema: 'sp_derived' },
    );
    const list = emulator.site(SITE).list('Tickets')!;
    const columns = list.columns().map((c) => c.name);
    expect(columns).toContain('Subject');
    expect(columns).not.toContain('Slug');
    expect(columns).not.toContain('Region');
    const repo = ds.getRepository<TicketRow>('ticket');
    const saved = await repo.save({ subject: 'Printer on fire' });
    expect(await repo.findOneByOrFail({ id: saved.id })).toMatchObject({
      slug: 'printer-on-fire',
      region: 'EMEA',
    });
    // A value written into a derived column stays local: SharePoint never holds it.
    await repo.update(saved.id, { region: 'APAC' });
    await sync.flush();
    const [item] = list.items();
    expect(Object.keys(item!.fields)).not.toContain('Slug');
    expect(Object.keys(item!.fields)).not.toContain('Region');
    // A person edits the subject in SharePoint; the rebuild drops the rows and loads them from SharePoint:
    // PostgreSQL derives the slug from the new subject, the region takes its DEFAULT.
    list.updateItem(item!.id, { Subject: 'Printer fixed' });
    await sync.rebuild();
    expect(await repo.find()).toEqual([
      { id: saved.id, subject: 'Printer fixed', slug: 'printer-fixed', region: 'EMEA' },
    ]);
    expect((await sync.verify()).ok).toBe(true);
  });
});
