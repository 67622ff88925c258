import pg from 'pg';
import { DataSource, type ObjectLiteral } from 'typeorm';
import { type ListSchema, SharePointSync, ValidationError } from 'typeorm-sharepoint';
import { createEmulator, type Emulator } from 'typeorm-sharepoint/testing';
import { ACTOR_SOURCES, twentyLists, twentyWorkspaceSchema } from 'typeorm-sharepoint/twenty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pet } from '../../examples/twenty-crm/metadata.js';
import {
  TWENTY_FUNCTIONS_SQL,
  twentyEntitySchemas,
  twentyWorkspaceDdl,
} from '../../examples/twenty-crm/workspace.js';
import { readListSchemas } from '../../src/schema/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

// Issue 18, "Every column type Twenty uses": the dev seed's custom object `pet` has every field type. Its
// table is created as Twenty's migration runner creates it, its EntitySchema as Twenty's factory builds it
// (quirks included); each type is mapped as docs/schema.md's type map says and comes back from SharePoint
// exactly (real PostgreSQL, loopback emulator).

const SITE = 'contoso.sharepoint.com:/sites/pets';
const SCHEMA = twentyWorkspaceSchema('20202020-1c25-4d02-bf25-6aeccf7ea419');
const RATING = 'choice(RATING_1|RATING_2|RATING_3|RATING_4|RATING_5)';

/** The SharePoint column each pet property becomes (docs/schema.md, the type map). */
const EXPECTED: Record<string, string> = {
  createdAt: 'dateTime',
  updatedAt: 'dateTime',
  deletedAt: 'dateTime',
  name: 'note',
  createdBySource: `choice(${ACTOR_SOURCES.join('|')})`,
  createdByWorkspaceMemberId: 'text(36)',
  createdByName: 'note',
  createdByContext: 'note',
  updatedBySource: `choice(${ACTOR_SOURCES.join('|')})`,
  updatedByWorkspaceMemberId: 'text(36)',
  updatedByName: 'note',
  updatedByContext: 'note',
  position: 'number',
  species: 'choice(DOG|CAT|HAMSTER|RABBIT|BIRD)',
  traits: 'multiChoice(PLAYFUL|CALM|CURIOUS|LAZY)',
  comments: 'note',
  age: 'number',
  locationAddressStreet1: 'note',
  locationAddressStreet2: 'note',
  locationAddressCity: 'note',
  locationAddressPostcode: 'note',
  locationAddressState: 'note',
  locationAddressCountry: 'note',
  locationAddressLat: 'text(255)',
  locationAddressLng: 'text(255)',
  vetPhonePrimaryPhoneNumber: 'note',
  vetPhonePrimaryPhoneCountryCode: 'note',
  vetPhonePrimaryPhoneCallingCode: 'note',
  vetPhoneAdditionalPhones: 'note',
  vetEmailPrimaryEmail: 'note',
  vetEmailAdditionalEmails: 'note',
  birthday: 'date',
  isGoodWithKids: 'boolean',
  picturesPrimaryLinkLabel: 'note',
  picturesPrimaryLinkUrl: 'note',
  picturesSecondaryLinks: 'note',
  averageCostOfKibblePerMonthAmountMicros: 'text(255)',
  averageCostOfKibblePerMonthCurrencyCode: 'note',
  makesOwnerThinkOfFirstName: 'note',
  makesOwnerThinkOfLastName: 'note',
  soundSwag: RATING,
  bioBlocknote: 'note',
  bioMarkdown: 'note',
  interestingFacts: 'note',
  extraData: 'note',
  documents: 'note',
  lastVisit: 'dateTime',
};

function describeColumn(c: Record<string, unknown>): string {
  const text = c.text as { allowMultipleLines?: boolean; maxLength?: number } | undefined;
  const choice = c.choice as { choices: string[]; displayAs?: string } | undefined;
  if (text) return text.allowMultipleLines ? 'note' : `text(${text.maxLength})`;
  if (choice)
    return `${choice.displayAs === 'checkBoxes' ? 'multiChoice' : 'choice'}(${choice.choices.join('|')})`;
  if (c.number) return 'number';
  if (c.boolean) return 'boolean';
  const dateTime = c.dateTime as { format?: string } | undefined;
  if (dateTime) return dateTime.format === 'dateOnly' ? 'date' : 'dateTime';
  return 'unknown';
}

const LONG_BLOCKNOTE = JSON.stringify(
  Array.from({ length: 8 }, (_, i) => ({
    id: `block-${i}`,
    type: 'paragraph',
    props: { textColor: 'default', backgroundColor: 'default', textAlignment: 'left' },
    content: [
      { type: 'text', text: `Line ${i}: a pet's biography, longer than 255 characters in all`, styles: {} },
    ],
    children: [],
  })),
);

const FULL = {
  id: '6f1c2b7e-0d4a-4c55-9a57-0c7b7f0a1a01',
  // Milliseconds, as an application writes them: SharePoint keeps whole seconds (docs/schema.md, "What
  // SharePoint keeps"), so the commit keeps them too, truncated (never rounded up: .999 → .000).
  createdAt: '2024-05-01T10:00:00.310Z',
  updatedAt: '2024-05-02T11:30:00.999Z',
  name: 'Rex, the "good" boy',
  createdBySource: 'API',
  createdByWorkspaceMemberId: '0b7c4e8a-2b7f-4d3e-9a1c-3f2e1d0c9b8a',
  createdByName: 'Tim Apple',
  createdByContext: { provider: 'google', applicationId: null },
  updatedBySource: 'MANUAL',
  updatedByName: 'System',
  position: -1.5,
  species: 'DOG',
  traits: ['PLAYFUL', 'CURIOUS'],
  comments: 'Line one\nLine two, with a comma',
  age: -2.75,
  locationAddressStreet1: '1 Infinite Loop',
  locationAddressCity: 'Cupertino',
  locationAddressCountry: 'United States',
  locationAddressLat: '37.33182000',
  locationAddressLng: '-122.03118',
  vetPhonePrimaryPhoneNumber: '612345678',
  vetPhonePrimaryPhoneCountryCode: 'FR',
  vetPhonePrimaryPhoneCallingCode: '+33',
  vetPhoneAdditionalPhones: [{ number: '700000000', countryCode: 'GB', callingCode: '+44' }],
  vetEmailPrimaryEmail: 'vet@example.com',
  vetEmailAdditionalEmails: ['night@example.com', 'weekend@example.com'],
  birthday: '2019-02-28',
  isGoodWithKids: true,
  picturesPrimaryLinkLabel: 'Album',
  picturesPrimaryLinkUrl: 'https://example.com/rex',
  picturesSecondaryLinks: [{ label: 'Beach', url: 'https://example.com/rex/beach' }],
  // Beyond 2^53 (9,007,199,254,740,992): a double would round it.
  averageCostOfKibblePerMonthAmountMicros: '123456789012345678901234',
  averageCostOfKibblePerMonthCurrencyCode: 'EUR',
  makesOwnerThinkOfFirstName: 'Hercule',
  makesOwnerThinkOfLastName: 'Poirot',
  soundSwag: 'RATING_4',
  bioBlocknote: LONG_BLOCKNOTE,
  bioMarkdown: '# Rex\n\n*good* boy',
  interestingFacts: ['likes naps, long ones', 'barks at "mail"', ''],
  extraData: { nested: { list: [1, 2.5, 'three'], flag: false }, empty: {} },
  documents: [{ path: 'pet/rex.pdf', size: 1234 }],
  lastVisit: '2024-06-01T08:15:30.500Z',
};

let db: TestDatabase;
let emulator: Emulator;
let baseUrl: string;
let ds: DataSource;
let sync: SharePointSync;

/** Every column of every pet row as PostgreSQL prints it (the row's exact content), generated column too. */
async function snapshot(): Promise<Record<string, string | null>[]> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ row: Record<string, string | null> }>(
      `SELECT (SELECT jsonb_object_agg(key, value) FROM jsonb_each_text(to_jsonb(p))) AS row
         FROM "${SCHEMA}"."_pet" p ORDER BY name`,
    );
    return rows.map((r) => r.row);
  } finally {
    await client.end();
  }
}

async function insert(values: Record<string, unknown>) {
  const columns = Object.keys(values);
  await ds.query(
    `INSERT INTO "${SCHEMA}"."_pet" (${columns.map((c) => `"${c}"`).join(', ')})
     SELECT ${columns.map((c) => `r."${c}"`).join(', ')}
       FROM jsonb_populate_record(NULL::"${SCHEMA}"."_pet", $1) r`,
    [JSON.stringify(values)],
  );
}

beforeAll(async () => {
  db = await createTestDatabase();
  emulator = createEmulator({ sites: [SITE] });
  baseUrl = `${(await emulator.listen()).url}/v1.0`;
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(TWENTY_FUNCTIONS_SQL);
  for (const statement of twentyWorkspaceDdl([pet], SCHEMA)) await client.query(statement);
  await client.end();
  ds = await new DataSource({
    type: 'postgres',
    url: db.url,
    entities: twentyEntitySchemas([pet], SCHEMA),
  }).initialize();
  sync = await SharePointSync.attach(ds, {
    site: { hostname: 'contoso.sharepoint.com', path: '/sites/pets' },
    graph: { baseUrl },
    writeback: { runWorker: false },
    inbound: { pollIntervalSeconds: 0 },
    lists: twentyLists([pet]),
  });
});

afterAll(async () => {
  await sync?.close();
  if (ds?.isInitialized) await ds.destroy();
  await emulator?.close();
  await db?.drop();
});

describe('every Twenty field type (custom object pet, real PostgreSQL, loopback emulator)', {
  shuffle: false,
}, () => {
  it('names the workspace schema as Twenty does', () => {
    expect(SCHEMA).toBe('workspace_1wgvd1injqtife6y4rvfbu3h5');
  });

  it('maps each column as the type map says (column by column), searchVector left out', () => {
    const list = sync.lists[0] as ListSchema;
    const columns = emulator.site(SITE).list('Pets')!.columns();
    const actual: Record<string, string> = {};
    for (const field of list.fields) {
      const column = columns.find((c) => c.name === field.name);
      actual[field.property] = column
        ? describeColumn(column as unknown as Record<string, unknown>)
        : 'missing';
    }
    expect(actual).toEqual(EXPECTED);
    expect(columns.map((c) => c.name)).not.toContain('SearchVector');
    // 39 characters of column name keep within SharePoint's 32 by the existing rule.
    const kibble = list.fields.find((f) => f.property === 'averageCostOfKibblePerMonthAmountMicros')!;
    expect(kibble.name).toMatch(/^AverageCostOfKibblePerM_[0-9a-f]{8}$/);
    // Labels become display names; the ACTOR source keeps its default, so it is not required.
    expect(columns.find((c) => c.name === kibble.name)).toMatchObject({
      displayName: 'Average cost of kibble per month Amount Micros',
    });
    const source = columns.find((c) => c.name === 'CreatedBySource') as unknown as Record<string, unknown>;
    expect(source).toMatchObject({ required: false, defaultValue: { value: 'MANUAL' } });
    // Twenty's ORM says `nullable: false` for the optional workspace member id: the table decides.
    expect(columns.find((c) => c.name === 'CreatedByWorkspaceMemberId')).toMatchObject({ required: false });
  });

  it('sends every value as SharePoint holds it', async () => {
    await insert(FULL);
    // Whole seconds: what SharePoint keeps of a date-time (docs/schema.md, "What SharePoint keeps").
    const at = { createdAt: '2024-05-03T09:00:00Z', updatedAt: '2024-05-03T09:00:01Z' };
    await insert({ ...at, name: 'Empty arrays', interestingFacts: [], traits: [] });
    await insert({ ...at, name: 'Nulls' });
    expect((await sync.flush()).sent).toBe(3);
    const items = emulator.site(SITE).list('Pets')!.items();
    const byName = (n: string) => items.find((i) => i.fields.Title === n)!.fields;
    const list = sync.lists[0] as ListSchema;
    const col = (p: string) => list.fields.find((f) => f.property === p)!.name;
    const rex = byName(FULL.name);
    expect(rex[col('traits')]).toEqual(['PLAYFUL', 'CURIOUS']);
    expect(JSON.parse(String(rex[col('interestingFacts')]))).toEqual(FULL.interestingFacts);
    expect(rex[col('averageCostOfKibblePerMonthAmountMicros')]).toBe('123456789012345678901234');
    expect(rex[col('locationAddressLat')]).toBe('37.33182000');
    expect(rex[col('age')]).toBe(-2.75);
    expect(rex[col('position')]).toBe(-1.5);
    expect(rex[col('soundSwag')]).toBe('RATING_4');
    expect(rex[col('createdBySource')]).toBe('API');
    expect(String(rex[col('bioBlocknote')]).length).toBeGreaterThan(255);
    expect(JSON.parse(String(rex[col('extraData')]))).toEqual(FULL.extraData);
    expect(rex[col('birthday')]).toBe('2019-02-28T00:00:00Z');
    expect([rex[col('createdAt')], rex[col('updatedAt')], rex[col('lastVisit')]]).toEqual([
      '2024-05-01T10:00:00Z',
      '2024-05-02T11:30:00Z',
      '2024-06-01T08:15:30Z',
    ]);
    // An empty text[] is `[]`, NULL is no value: kept apart. An empty multi-choice is no value (documented).
    expect(byName('Empty arrays')[col('interestingFacts')]).toBe('[]');
    expect(byName('Nulls')[col('interestingFacts')] ?? null).toBeNull();
    expect(byName('Empty arrays')[col('traits')] ?? null).toBeNull();
  });

  it('refuses before commit a multi-select value outside its options', async () => {
    const error = await ds
      .getRepository('pet')
      .save({ name: 'Bad', traits: ['PLAYFUL', 'GRUMPY'] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ entity: 'pet', field: 'traits', rule: 'choice' });
  });

  it('a rebuild from SharePoint gives back every row exactly (empty multi-select → NULL, documented)', async () => {
    const before = await snapshot();
    const read = async () => {
      const row = await ds.getRepository<ObjectLiteral>('pet').findOneByOrFail({ name: FULL.name });
      return [row.createdAt, row.updatedAt, row.lastVisit].map((d: Date) => d.toISOString());
    };
    // What the application reads after its commit: the date-times as SharePoint keeps them, whole seconds.
    const readBefore = await read();
    expect(readBefore).toEqual([
      '2024-05-01T10:00:00.000Z',
      '2024-05-02T11:30:00.000Z',
      '2024-06-01T08:15:30.000Z',
    ]);
    await sync.rebuild({ force: true });
    const after = await snapshot();
    // ... and after the rebuild: the same.
    expect(await read()).toEqual(readBefore);
    const expected = before.map((row) => (row.name === 'Empty arrays' ? { ...row, traits: null } : row));
    expect(after).toEqual(expected);
    expect(before.find((r) => r.name === 'Empty arrays')!.traits).toBe('[]');
    expect(after.find((r) => r.name === FULL.name)!.averageCostOfKibblePerMonthAmountMicros).toBe(
      '123456789012345678901234',
    );
    expect((await sync.verify()).ok).toBe(true);
  });
});

describe('text[] as multi-choice, when the operator says so', () => {
  it('maps the ARRAY field to a multi-choice column with the given choices, converting both ways', () => {
    const lists = twentyLists([pet]);
    const config = lists.pet!;
    config.columns = { ...config.columns, interestingFacts: { array: true, choices: ['naps', 'walks'] } };
    const [list] = readListSchemas(ds, { lists });
    const field = list!.fields.find((f) => f.property === 'interestingFacts')!;
    expect(field.kind).toBe('multiChoice');
    expect(field.definition).toMatchObject({
      choice: { choices: ['naps', 'walks'], displayAs: 'checkBoxes', allowTextEntry: false },
    });
    // node-pg returns text[] as an array, enum[] as its literal: both read.
    expect(field.toSharePoint(['naps', 'walks'])).toEqual(['naps', 'walks']);
    expect(field.toSharePoint('{naps,"walks"}')).toEqual(['naps', 'walks']);
    expect(field.fromSharePoint(['walks'])).toEqual(['walks']);
    expect(() => field.fromSharePoint(['swims'])).toThrow(/"swims" is not one of naps, walks/);
  });
});
