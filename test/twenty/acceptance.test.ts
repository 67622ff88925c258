import pg from 'pg';
import { DataSource, type ObjectLiteral } from 'typeorm';
import { type ListSchema, SharePointSync } from 'typeorm-sharepoint';
import { createEmulator, type Emulator } from 'typeorm-sharepoint/testing';
import {
  COMPOSITE_TYPES,
  compositeColumnName,
  type TwentyObject,
  twentyLists,
  twentyTableName,
  twentyWorkspaceSchema,
} from 'typeorm-sharepoint/twenty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { standardObjects } from '../../examples/twenty-crm/metadata.js';
import {
  TWENTY_FUNCTIONS_SQL,
  twentyEntitySchemas,
  twentyWorkspaceDdl,
} from '../../examples/twenty-crm/workspace.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

// Issue 18, acceptance: Twenty's eight standard objects as Twenty builds them (runtime EntitySchemas, tables as
// its migration runner creates them, in a workspace_<base36> schema), on real PostgreSQL and the loopback
// emulator: bootstrap, thousands of records with every composite filled, drop and rebuild, verify, loaders.

const SITE = 'contoso.sharepoint.com:/sites/Twenty-acceptance';
const SCHEMA = twentyWorkspaceSchema('7e1f1c8e-5b0a-4c8e-9d3f-0a1b2c3d4e5f');
const LIBRARY_SCHEMA = 'sharepoint_sync';
const SEED = Number(process.env.TWENTY_SEED ?? Date.now() % 1_000_000);
const COUNTS = {
  workspaceMember: 10,
  company: 1000,
  person: 3000,
  opportunity: 500,
  task: 500,
  taskTarget: 1000,
  note: 100,
  noteTarget: 200,
};

let db: TestDatabase;
let emulator: Emulator;
let baseUrl: string;
let ds: DataSource;
let sync: SharePointSync;
let sql = 0;

/** mulberry32: the data differs per seed, and a failing seed replays. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const uuid = () => {
    const hex = Array.from({ length: 32 }, () => int(16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20)}`;
  };
  const pick = <T>(xs: readonly T[]) => xs[int(xs.length)]!;
  return { next, int, uuid, pick };
}

function dataset(seed: number) {
  const r = rng(seed);
  // Date-times with milliseconds (never .000), as applications write them; SharePoint keeps whole seconds.
  const at = (i: number) =>
    new Date(Date.UTC(2024, 0, 1) + i * 61_000 + r.int(86_400) * 1000 + 1 + r.int(999)).toISOString();
  const members = Array.from({ length: COUNTS.workspaceMember }, (_, i) => ({
    id: r.uuid(),
    createdAt: at(i),
    updatedAt: at(i + 1),
    position: i,
    nameFirstName: `Member${i}`,
    nameLastName: 'Ops',
    userEmail: `member${i}@acme.example`,
    userId: r.uuid(),
    calendarStartDay: 1,
    dateFormat: r.pick(['SYSTEM', 'DAY_FIRST']),
  }));
  const actor = (prefix: string) => {
    const m = r.pick(members);
    return {
      [`${prefix}Source`]: r.pick(['MANUAL', 'API', 'IMPORT', 'WORKFLOW']),
      [`${prefix}WorkspaceMemberId`]: m.id,
      [`${prefix}Name`]: `${m.nameFirstName} ${m.nameLastName}`,
      [`${prefix}Context`]: { provider: r.pick(['google', 'microsoft']), applicationId: null },
    };
  };
  const links = (prefix: string, i: number) => ({
    [`${prefix}PrimaryLinkLabel`]: `Link ${i}`,
    [`${prefix}PrimaryLinkUrl`]: `https://example.com/${prefix}/${i}`,
    [`${prefix}SecondaryLinks`]: [
      { label: 'Docs, v2', url: `https://docs.example.com/${i}` },
      { label: 'Blog', url: `https://blog.example.com/${i}` },
    ],
  });
  const phones = (prefix: string, i: number) => ({
    [`${prefix}PrimaryPhoneNumber`]: `6${String(i).padStart(8, '0')}`,
    [`${prefix}PrimaryPhoneCountryCode`]: 'FR',
    [`${prefix}PrimaryPhoneCallingCode`]: '+33',
    [`${prefix}AdditionalPhones`]: [{ number: `7${i}`, countryCode: 'GB', callingCode: '+44' }],
  });
  const companies = Array.from({ length: COUNTS.company }, (_, i) => ({
    id: r.uuid(),
    createdAt: at(i),
    updatedAt: at(i + 7),
    ...(i % 97 === 0 ? { deletedAt: at(i + 9) } : {}),
    name: `Company ${i}, Inc.`,
    ...links('domainName', i),
    addressAddressStreet1: `${i} Main Street`,
    addressAddressStreet2: 'Suite "B"',
    addressAddressCity: r.pick(['Paris', 'Zürich', 'São Paulo', 'Osaka']),
    addressAddressPostcode: String(10000 + i),
    addressAddressState: 'State',
    addressAddressCountry: 'Country',
    addressAddressLat: (r.next() * 180 - 90).toFixed(7),
    addressAddressLng: (r.next() * 360 - 180).toFixed(7),
    employees: r.int(100_000),
    ...links('linkedinLink', i),
    ...links('xLink', i),
    // Up to ~10^19 micros: beyond 2^53, exact only as decimal text.
    annualRecurringRevenueAmountMicros: `${r.int(9_000_000)}${String(r.int(1e9)).padStart(9, '0')}000000`,
    annualRecurringRevenueCurrencyCode: r.pick(['USD', 'EUR']),
    idealCustomerProfile: r.next() < 0.5,
    position: (r.next() - 0.5) * 1e6,
    ...actor('createdBy'),
    ...actor('updatedBy'),
    accountOwnerId: r.pick(members).id,
    tagline: `Tagline ${i}`,
    ...links('introVideo', i),
    workPolicy: r.pick([['ON_SITE'], ['HYBRID', 'REMOTE_WORK'], ['ON_SITE', 'HYBRID', 'REMOTE_WORK']]),
    visaSponsorship: r.next() < 0.3,
  }));
  const people = Array.from({ length: COUNTS.person }, (_, i) => ({
    id: r.uuid(),
    createdAt: at(i),
    updatedAt: at(i + 3),
    nameFirstName: `First${i}`,
    nameLastName: `Last ${i}`,
    emailsPrimaryEmail: `person${i}@example.com`,
    emailsAdditionalEmails: [`p${i}@other.example`, `p${i}@third.example`],
    ...links('linkedinLink', i),
    ...links('xLink', i),
    jobTitle: r.pick(['CEO', 'CTO', 'Engineer, Senior']),
    ...phones('phones', i),
    city: 'Lyon',
    avatarUrl: `https://avatars.example/${i}.png`,
    position: i + r.next(),
    ...actor('createdBy'),
    ...actor('updatedBy'),
    companyId: companies[i % COUNTS.company]!.id,
    intro: `Intro ${i}\nsecond line`,
    ...phones('whatsapp', i),
    workPreference: r.pick([['REMOTE_WORK'], ['ON_SITE', 'HYBRID']]),
    performanceRating: r.pick(['RATING_1', 'RATING_3', 'RATING_5']),
  }));
  const opportunities = Array.from({ length: COUNTS.opportunity }, (_, i) => ({
    id: r.uuid(),
    createdAt: at(i),
    updatedAt: at(i + 2),
    name: `Deal ${i}`,
    amountAmountMicros: `${r.int(1e7)}000000`,
    amountCurrencyCode: 'USD',
    closeDate: at(i + 100),
    stage: r.pick(['NEW', 'SCREENING', 'MEETING', 'PROPOSAL', 'CUSTOMER']),
    position: -i,
    ...actor('createdBy'),
    ...actor('updatedBy'),
    pointOfContactId: people[i]!.id,
    companyId: companies[i]!.id,
  }));
  const blocknote = (i: number) =>
    JSON.stringify(
      Array.from({ length: 4 }, (_, b) => ({
        id: `b${i}-${b}`,
        type: 'paragraph',
        props: { textColor: 'default', backgroundColor: 'default', textAlignment: 'left' },
        content: [
          { type: 'text', text: `Paragraph ${b} of item ${i}, with "quotes" and commas`, styles: {} },
        ],
        children: [],
      })),
    );
  const tasks = Array.from({ length: COUNTS.task }, (_, i) => ({
    id: r.uuid(),
    createdAt: at(i),
    updatedAt: at(i + 1),
    position: i / 3,
    title: `Task ${i}`,
    bodyV2Blocknote: blocknote(i),
    bodyV2Markdown: `Paragraph 0 of item ${i}`,
    dueAt: at(i + 50),
    status: r.pick(['TODO', 'IN_PROGRESS', 'DONE']),
    ...actor('createdBy'),
    ...actor('updatedBy'),
    assigneeId: r.pick(members).id,
  }));
  const taskTargets = tasks.flatMap((t, i) => [
    { id: r.uuid(), createdAt: at(i), updatedAt: at(i), taskId: t.id, personId: people[i]!.id },
    {
      id: r.uuid(),
      createdAt: at(i),
      updatedAt: at(i),
      taskId: t.id,
      ...(i % 2 ? { companyId: companies[i]!.id } : { opportunityId: opportunities[i]!.id }),
    },
  ]);
  const notes = Array.from({ length: COUNTS.note }, (_, i) => ({
    id: r.uuid(),
    createdAt: at(i),
    updatedAt: at(i),
    position: i,
    title: `Note ${i}`,
    bodyV2Blocknote: blocknote(i),
    bodyV2Markdown: `Note body ${i}`,
    ...actor('createdBy'),
    ...actor('updatedBy'),
  }));
  const noteTargets = notes.flatMap((n, i) => [
    { id: r.uuid(), createdAt: at(i), updatedAt: at(i), noteId: n.id, companyId: companies[i]!.id },
    { id: r.uuid(), createdAt: at(i), updatedAt: at(i), noteId: n.id, personId: people[i]!.id },
  ]);
  return {
    workspaceMember: members,
    company: companies,
    person: people,
    opportunity: opportunities,
    task: tasks,
    taskTarget: taskTargets,
    note: notes,
    noteTarget: noteTargets,
  } as Record<string, Record<string, unknown>[]>;
}

const objectOf = (name: string) => standardObjects.find((o) => o.nameSingular === name)!;
const table = (name: string) => `"${SCHEMA}"."${twentyTableName(objectOf(name))}"`;

async function insertAll(data: Record<string, Record<string, unknown>[]>) {
  // Targets first: the workspace tables have Twenty's foreign keys.
  for (const object of (Object.keys(COUNTS) as (keyof typeof COUNTS)[]).map(objectOf)) {
    const rows = data[object.nameSingular]!;
    for (let i = 0; i < rows.length; i += 500) {
      const chunk = rows.slice(i, i + 500);
      const columns = [...new Set(chunk.flatMap((row) => Object.keys(row)))];
      await ds.query(
        `INSERT INTO ${table(object.nameSingular)} (${columns.map((c) => `"${c}"`).join(', ')})
         SELECT ${columns.map((c) => `r."${c}"`).join(', ')}
           FROM jsonb_populate_recordset(NULL::${table(object.nameSingular)}, $1) r`,
        [JSON.stringify(chunk)],
      );
    }
  }
}

/** id → md5 of the whole row as PostgreSQL prints it (generated search vector included), per table. */
async function rowHashes(): Promise<Record<string, Map<string, string>>> {
  const out: Record<string, Map<string, string>> = {};
  for (const object of standardObjects) {
    const rows: { id: string; h: string }[] = await ds.query(
      `SELECT id::text AS id, md5(to_jsonb(t)::text) AS h FROM ${table(object.nameSingular)} t`,
    );
    out[object.nameSingular] = new Map(rows.map((r) => [r.id, r.h]));
  }
  return out;
}

async function createTables() {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query(TWENTY_FUNCTIONS_SQL);
    for (const statement of twentyWorkspaceDdl(standardObjects, SCHEMA)) await client.query(statement);
  } finally {
    await client.end();
  }
}

function attach() {
  return SharePointSync.attach(ds, {
    site: { hostname: 'contoso.sharepoint.com', path: '/sites/Twenty-acceptance' },
    graph: { baseUrl, budget: { resourceUnitsPerMinute: 10_000_000 } },
    writeback: { runWorker: false },
    inbound: { pollIntervalSeconds: 0 },
    lists: twentyLists(standardObjects, { priorities: { company: 'P0', person: 'P0' } }),
  });
}

/** The SharePoint column a Twenty field type becomes (docs/twenty.md's table), by property. */
function expectedColumns(object: TwentyObject): Record<string, string> {
  const out: Record<string, string> = {};
  const sub: Record<string, string> = {
    TEXT: 'note',
    UUID: 'text(36)',
    NUMERIC: 'text(255)',
    RAW_JSON: 'note',
  };
  for (const field of object.fields) {
    const composite = COMPOSITE_TYPES[field.type];
    if (composite) {
      for (const p of composite)
        out[compositeColumnName(field.name, p.name)] =
          p.type === 'SELECT' ? `choice(${p.options!.join('|')})` : sub[p.type]!;
      continue;
    }
    const values = field.options?.map((o) => o.value).join('|');
    const type: Record<string, string | undefined> = {
      UUID: 'text(36)',
      TEXT: 'note',
      NUMBER: 'number',
      POSITION: 'number',
      NUMERIC: 'text(255)',
      BOOLEAN: 'boolean',
      DATE_TIME: 'dateTime',
      DATE: 'date',
      SELECT: `choice(${values})`,
      RATING: `choice(${values})`,
      MULTI_SELECT: `multiChoice(${values})`,
      RAW_JSON: 'note',
      FILES: 'note',
      ARRAY: 'note',
      RELATION: field.settings?.relationType === 'MANY_TO_ONE' ? 'text(36) indexed' : undefined,
    };
    if (field.name === 'id' || !type[field.type]) continue;
    out[field.name] = type[field.type]!;
  }
  return out;
}

function describeColumn(c: Record<string, unknown>): string {
  const text = c.text as { allowMultipleLines?: boolean; maxLength?: number } | undefined;
  const choice = c.choice as { choices: string[]; displayAs?: string } | undefined;
  let d = 'unknown';
  if (text) d = text.allowMultipleLines ? 'note' : `text(${text.maxLength})`;
  else if (choice)
    d = `${choice.displayAs === 'checkBoxes' ? 'multiChoice' : 'choice'}(${choice.choices.join('|')})`;
  else if (c.number) d = 'number';
  else if (c.boolean) d = 'boolean';
  else if (c.dateTime) d = (c.dateTime as { format?: string }).format === 'dateOnly' ? 'date' : 'dateTime';
  return d === 'text(36)' && c.indexed === true && c.enforceUniqueValues !== true ? `${d} indexed` : d;
}

beforeAll(async () => {
  console.log(`twenty acceptance seed: ${SEED} (replay with TWENTY_SEED=${SEED})`);
  db = await createTestDatabase();
  emulator = createEmulator({ sites: [SITE] });
  baseUrl = `${(await emulator.listen()).url}/v1.0`;
  await createTables();
  ds = await new DataSource({
    type: 'postgres',
    url: db.url,
    entities: twentyEntitySchemas(standardObjects, SCHEMA),
    extra: { max: 5 },
  }).initialize();
  (ds as unknown as { logger: unknown }).logger = {
    logQuery: () => {
      sql++;
    },
    logQueryError() {},
    logQuerySlow() {},
    logSchemaBuild() {},
    logMigration() {},
    log() {},
  };
  sync = await attach();
}, 180_000);

afterAll(async () => {
  await sync?.close();
  if (ds?.isInitialized) await ds.destroy();
  await emulator?.close();
  await db?.drop();
});

const writes = () =>
  emulator.log.entries.filter(
    (e) => e.method !== 'GET' && e.path !== '/$batch' && !e.path.endsWith('/$batch'),
  );

describe('Twenty acceptance (eight standard objects, real PostgreSQL, loopback emulator)', {
  shuffle: false,
}, () => {
  it('bootstrap creates eight lists whose columns match the type map, column by column', () => {
    const site = emulator.site(SITE);
    expect(
      site
        .lists()
        .map((l) => l.displayName)
        .sort(),
    ).toEqual(
      [
        'Companies',
        'Note Targets',
        'Notes',
        'Opportunities',
        'People',
        'Task Targets',
        'Tasks',
        'Workspace Members',
      ].sort(),
    );
    for (const object of standardObjects) {
      const list = sync.lists.find((l) => l.entityName === object.nameSingular) as ListSchema;
      const columns = site.list(list.title)!.columns() as unknown as Record<string, unknown>[];
      const actual: Record<string, string> = {};
      for (const field of list.fields) {
        const column = columns.find((c) => c.name === field.name);
        actual[field.property] = column ? describeColumn(column) : 'missing';
      }
      expect({ [object.nameSingular]: actual }).toEqual({ [object.nameSingular]: expectedColumns(object) });
      expect(describeColumn(columns.find((c) => c.name === 'TwentyId')!)).toBe('text(36)');
      expect(columns.map((c) => c.name)).not.toContain('SearchVector');
    }
  });

  it('a second bootstrap writes nothing', async () => {
    emulator.log.reset();
    await sync.bootstrap();
    expect(writes()).toEqual([]);
  });

  let before: Record<string, Map<string, string>>;
  let data: Record<string, Record<string, unknown>[]>;
  /** What the application reads of a few date-times after its commit, through TypeORM. */
  let readBefore: (string | null)[];
  const readDates = async () => {
    const companies = await ds
      .getRepository<ObjectLiteral>('company')
      .find({ withDeleted: true, order: { id: 'ASC' }, take: 20 });
    const deals = await ds
      .getRepository<ObjectLiteral>('opportunity')
      .find({ order: { id: 'ASC' }, take: 20 });
    return [
      ...companies.flatMap((c) => [c.createdAt, c.updatedAt, c.deletedAt]),
      ...deals.map((o) => o.closeDate),
    ].map((d: Date | null) => d?.toISOString() ?? null);
  };

  it('every record reaches SharePoint exactly once', async () => {
    data = dataset(SEED);
    await insertAll(data);
    emulator.log.reset();
    const started = Date.now();
    const { sent } = await sync.flush({ timeoutMs: 150_000 });
    console.log(`twenty acceptance: ${sent} records sent in ${Date.now() - started} ms`);
    const total = Object.values(COUNTS).reduce((a, b) => a + b, 0);
    expect(sent).toBe(total);
    const creates = emulator.log.entries.filter((e) => e.method === 'POST' && e.path.endsWith('/items'));
    const updates = emulator.log.entries.filter((e) => e.method === 'PATCH');
    expect(creates).toHaveLength(total);
    expect(updates).toHaveLength(0);
    for (const object of standardObjects) {
      const list = sync.lists.find((l) => l.entityName === object.nameSingular)!;
      const items = emulator.site(SITE).list(list.title)!.items();
      const ids = items.map((i) => String(i.fields.TwentyId));
      expect({ [object.nameSingular]: new Set(ids).size }).toEqual({
        [object.nameSingular]: COUNTS[object.nameSingular as keyof typeof COUNTS],
      });
      expect(ids.length).toBe(new Set(ids).size);
    }
    // A company as SharePoint holds it: multi-choice, exact micros, JSON composites, an actor.
    const company = sync.lists.find((l) => l.entityName === 'company')!;
    const col = (p: string) => company.fields.find((f) => f.property === p)!.name;
    const first = data.company![0]!;
    const item = emulator
      .site(SITE)
      .list('Companies')!
      .items()
      .find((i) => i.fields.TwentyId === first.id)!.fields;
    expect(item[col('workPolicy')]).toEqual(first.workPolicy);
    expect(item[col('annualRecurringRevenueAmountMicros')]).toBe(first.annualRecurringRevenueAmountMicros);
    expect(JSON.parse(String(item[col('domainNameSecondaryLinks')]))).toEqual(first.domainNameSecondaryLinks);
    expect(item[col('createdBySource')]).toBe(first.createdBySource);
    expect(item[col('accountOwner')]).toBe(first.accountOwnerId);
    // Written with milliseconds; committed (and sent) as whole seconds: the one rule of docs/schema.md,
    // "What SharePoint keeps".
    const written = String(first.createdAt);
    expect(written).toMatch(/\.\d{3}Z$/);
    expect(written).not.toMatch(/\.000Z$/);
    const seconds = new Date(Math.floor(Date.parse(written) / 1000) * 1000);
    expect(item[col('createdAt')]).toBe(seconds.toISOString().replace('.000Z', 'Z'));
    readBefore = await readDates();
    expect(readBefore.length).toBeGreaterThan(0);
    expect(readBefore.filter((d) => d !== null && !d.endsWith('.000Z'))).toEqual([]);
    const [committed] = await ds.query(`SELECT "createdAt" FROM ${table('company')} WHERE id = $1`, [
      first.id,
    ]);
    expect((committed.createdAt as Date).toISOString()).toBe(seconds.toISOString());
    before = await rowHashes();
    expect(before.company!.size).toBe(COUNTS.company);
  }, 240_000);

  it('drop the workspace tables and the library schema, rebuild: every row equal to before; verify clean', async () => {
    await sync.close();
    await ds.query(`DROP SCHEMA "${SCHEMA}" CASCADE`);
    await ds.query(`DROP SCHEMA "${LIBRARY_SCHEMA}" CASCADE`);
    await createTables();
    emulator.log.reset();
    sync = await attach();
    await sync.loadAll();
    expect(writes()).toEqual([]);
    const after = await rowHashes();
    for (const object of standardObjects) {
      const name = object.nameSingular;
      const differing = [...before[name]!].filter(([id, h]) => after[name]!.get(id) !== h).map(([id]) => id);
      expect({ [name]: differing.slice(0, 3), size: after[name]!.size }).toEqual({
        [name]: [],
        size: before[name]!.size,
      });
    }
    // The application reads after the rebuild what it read after its commit.
    expect(await readDates()).toEqual(readBefore);
    const report = await sync.verify();
    expect(report.ok).toBe(true);
  }, 240_000);

  it('loaders resolve company → people and task → targets in one SQL query each', async () => {
    const loaders = sync.loaders();
    const companies = await ds
      .getRepository<ObjectLiteral>('company')
      .find({ take: 50, order: { name: 'ASC' } });
    const tasks = await ds.getRepository<ObjectLiteral>('task').find({ take: 50, order: { title: 'ASC' } });
    sql = 0;
    const people = await Promise.all(companies.map((c) => loaders.inverse('company', c, 'people')));
    expect(sql).toBe(1);
    for (const [i, c] of companies.entries()) {
      const wanted = data.person!.filter((p) => p.companyId === c.id).map((p) => p.id);
      expect(people[i]!.map((p) => p.id).sort()).toEqual([...wanted].sort());
    }
    sql = 0;
    const targets = await Promise.all(tasks.map((t) => loaders.inverse('task', t, 'taskTargets')));
    expect(sql).toBe(1);
    expect(targets.every((t) => t.length === 2)).toBe(true);
    const byTask = new Map<unknown, unknown[]>();
    for (const t of data.taskTarget!) byTask.set(t.taskId, [...(byTask.get(t.taskId) ?? []), t.id]);
    for (const [i, t] of tasks.entries())
      expect(targets[i]!.map((x) => x.id).sort()).toEqual([...(byTask.get(t.id) as string[])].sort());
  });
});
