import { Column, DataSource, Entity, EntitySchema, PrimaryGeneratedColumn } from 'typeorm';
import {
  type ListConfig,
  SchemaError,
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
});
