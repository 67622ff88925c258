import { Column, DataSource, Entity, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import {
  ClosedError,
  ConfigError,
  ConflictNotFoundError,
  configFromEnv,
  parseSiteRef,
  parseWorkspaceSettings,
  SharePointList,
  SharePointSync,
  SharePointSyncError,
  type SharePointSyncOptions,
  SharePointWorkspaces,
  UnknownWorkspaceError,
  WorkspaceSettingsError,
} from 'typeorm-sharepoint';
import { createEmulator, parseSiteRef as emulatorParseSiteRef } from 'typeorm-sharepoint/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/database.js';

// Misuse of every public call (graphql/dataloader's habit): each is a clear error of the library's base class,
// with the documented `code` (docs/errors.md), naming what is wrong — and nothing half-done behind it.

@SharePointList({ title: 'Abuse Companies' })
@Entity('abuse_company')
class Company {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 50 }) name!: string;
}

@SharePointList({ title: 'Abuse People' })
@Entity('abuse_person')
class Person {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 50 }) name!: string;
  @ManyToOne(() => Company, { nullable: true }) company?: Company | null;
}

/** Not decorated: TypeORM knows it, the sync does not. */
@Entity('abuse_note')
class Note {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 50 }) text!: string;
}

const SITE = { hostname: 'contoso.sharepoint.com', path: '/sites/abuse' };
const emulator = createEmulator({ sites: ['contoso.sharepoint.com:/sites/abuse'] });
let db: TestDatabase;
let dataSource: DataSource;
let base: SharePointSyncOptions;

beforeAll(async () => {
  db = await createTestDatabase();
  dataSource = await new DataSource({
    type: 'postgres',
    url: db.url,
    entities: [Company, Person, Note],
    synchronize: true,
  }).initialize();
  const { url } = await emulator.listen();
  base = {
    site: SITE,
    graph: { baseUrl: `${url}/v1.0` },
    inbound: { pollIntervalSeconds: 0 },
    writeback: { enabled: false },
  };
});
afterAll(async () => {
  await emulator.close();
  if (dataSource?.isInitialized) await dataSource.destroy();
  await db?.drop();
});

/** The error a call throws or rejects with, checked to be ours with `code`; its message must match `names`. */
async function misuse(call: () => unknown, code: string, names: RegExp): Promise<SharePointSyncError> {
  let caught: unknown;
  try {
    await call();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${code}`).toBeInstanceOf(SharePointSyncError);
  const error = caught as SharePointSyncError;
  expect(error.code, error.message).toBe(code);
  expect(error.message).toMatch(names);
  return error;
}

/** The refused attaches name their own schema, so the check holds whatever order the tests run in. */
const REFUSED_SCHEMA = 'abuse_refused';
async function schemaExists(): Promise<boolean> {
  const [row] = await dataSource.query(
    'SELECT count(*)::int AS n FROM information_schema.schemata WHERE schema_name = $1',
    [REFUSED_SCHEMA],
  );
  return row.n > 0;
}

describe('attach with a bad option: a ConfigError naming the option, before anything is created', () => {
  const cases: [string, (o: SharePointSyncOptions) => unknown, RegExp][] = [
    ['no site', (o) => ({ ...o, site: undefined }), /options\.site\b.*hostname, path/],
    [
      'a site with a scheme',
      (o) => ({ ...o, site: { ...SITE, hostname: 'https://contoso' } }),
      /options\.site\.hostname.*https:\/\/contoso/,
    ],
    [
      'a site path without "/"',
      (o) => ({ ...o, site: { ...SITE, path: 'sites/crm' } }),
      /options\.site\.path.*"sites\/crm".*starting with "\/"/,
    ],
    [
      'a schema that is no identifier',
      (o) => ({ ...o, schema: 'Drop Table' }),
      /options\.schema.*Drop Table.*lower-case/,
    ],
    [
      'an unknown priority',
      (o) => ({ ...o, defaultPriority: 'P9' }),
      /options\.defaultPriority.*P9.*P0, P1, P2, P3/,
    ],
    [
      'an unknown conflict policy',
      (o) => ({ ...o, conflictResolution: 'sharePointWins' }),
      /options\.conflictResolution.*sharePointWins.*sharePointPriority/,
    ],
    [
      'an unknown entity',
      (o) => ({ ...o, entities: ['Invoice'] }),
      /options\.entities.*Invoice.*Company, Person/,
    ],
    ['an untouched but unsynced entity', (o) => ({ ...o, entities: ['Note'] }), /options\.entities.*Note/],
    [
      'a batch larger than Graph allows',
      (o) => ({ ...o, writeback: { batchSize: 21 } }),
      /options\.writeback\.batchSize.*21.*1 to 20/,
    ],
    [
      'zero retry attempts',
      (o) => ({ ...o, writeback: { retryAttempts: 0 } }),
      /options\.writeback\.retryAttempts.*0/,
    ],
    [
      'a negative retry delay',
      (o) => ({ ...o, writeback: { retryDelayMs: -1 } }),
      /options\.writeback\.retryDelayMs.*-1/,
    ],
    [
      'a zero batch window',
      (o) => ({ ...o, writeback: { batchWindowSeconds: 0 } }),
      /options\.writeback\.batchWindowSeconds/,
    ],
    [
      'an hour that does not exist',
      (o) => ({ ...o, writeback: { dailyHourUtc: 24 } }),
      /options\.writeback\.dailyHourUtc.*24.*0 to 23/,
    ],
    ['a zero cache TTL', (o) => ({ ...o, cache: { ttlSeconds: 0 } }), /options\.cache\.ttlSeconds.*0/],
    [
      'a load parallelism of zero',
      (o) => ({ ...o, cache: { loadParallelism: 0 } }),
      /options\.cache\.loadParallelism.*0.*1 to 16/,
    ],
    [
      'a fractional load parallelism',
      (o) => ({ ...o, cache: { loadParallelism: 2.5 } }),
      /options\.cache\.loadParallelism.*2\.5/,
    ],
    [
      'a load parallelism above 16',
      (o) => ({ ...o, cache: { loadParallelism: 64 } }),
      /options\.cache\.loadParallelism.*64.*1 to 16/,
    ],
    [
      'a negative poll interval',
      (o) => ({ ...o, inbound: { pollIntervalSeconds: -1 } }),
      /options\.inbound\.pollIntervalSeconds.*-1/,
    ],
    [
      'a non-http Graph base URL',
      (o) => ({ ...o, graph: { baseUrl: 'ftp://graph.example.com/v1.0' } }),
      /options\.graph\.baseUrl.*ftp:.*http\(s\)/,
    ],
    [
      'a non-http webhook base URL',
      (o) => ({ ...o, webhooks: { baseUrl: 'ftp://crm.example.com' } }),
      /options\.webhooks\.baseUrl.*ftp:.*https URL/,
    ],
    [
      'a webhook base URL that is no URL',
      (o) => ({ ...o, webhooks: { baseUrl: 'crm.example.com' } }),
      /options\.webhooks\.baseUrl.*crm\.example\.com/,
    ],
    [
      'a clientState too long',
      (o) => ({ ...o, webhooks: { clientState: 'x'.repeat(129) } }),
      /options\.webhooks\.clientState.*128/,
    ],
    [
      'an empty clientState',
      (o) => ({ ...o, webhooks: { clientState: '' } }),
      /options\.webhooks\.clientState/,
    ],
    [
      'a zero body limit',
      (o) => ({ ...o, webhooks: { maxBodyBytes: 0 } }),
      /options\.webhooks\.maxBodyBytes.*0/,
    ],
    [
      'a negative pull interval',
      (o) => ({ ...o, webhooks: { minPullIntervalMs: -5 } }),
      /options\.webhooks\.minPullIntervalMs.*-5/,
    ],
    [
      'a webhook path without "/"',
      (o) => ({ ...o, webhooks: { path: 'hook' } }),
      /options\.webhooks\.path.*hook/,
    ],
    [
      'a list option of the wrong kind',
      (o) => ({ ...o, lists: { Company: { priority: 'P7' } } }),
      /options\.lists\.Company\.priority.*P7/,
    ],
  ];
  it.each(cases)('%s', async (_what, change, names) => {
    await misuse(
      () =>
        SharePointSync.attach(
          dataSource,
          change({ ...base, schema: REFUSED_SCHEMA }) as SharePointSyncOptions,
        ),
      'CONFIG_INVALID',
      names,
    );
    expect(await schemaExists()).toBe(false);
  });

  it('no options at all, and a DataSource that is not initialised', async () => {
    await misuse(
      () => SharePointSync.attach(dataSource, undefined as unknown as SharePointSyncOptions),
      'CONFIG_INVALID',
      /options.*site/,
    );
    const idle = new DataSource({ type: 'postgres', url: db.url, entities: [Company, Person] });
    await misuse(
      () => SharePointSync.attach(idle, { ...base, schema: REFUSED_SCHEMA }),
      'CONFIG_INVALID',
      /dataSource.*initialize\(\)/,
    );
    expect(await schemaExists()).toBe(false);
  });
});

describe('calls on an attached sync', () => {
  let sync: SharePointSync;
  beforeAll(async () => {
    sync = await SharePointSync.attach(dataSource, base);
  });

  it('an entity the sync does not know is a UsageError naming it', async () => {
    await misuse(() => sync.ensureLoaded('Invoice'), 'USAGE', /Invoice is not a SharePoint-synced entity/);
    await misuse(() => sync.refresh(Note), 'USAGE', /Note is not a SharePoint-synced entity/);
    await misuse(() => sync.pull('Invoice'), 'USAGE', /Invoice/);
    await misuse(() => sync.markDirty('Invoice', ['x']), 'USAGE', /Invoice/);
    await misuse(() => sync.verify(['Invoice']), 'USAGE', /Invoice/);
    await misuse(
      () => sync.migrate({ entities: ['Invoice'] }),
      'USAGE',
      /migrate: Invoice is not a SharePoint-synced entity/,
    );
    await misuse(() => sync.loaders().byId('Invoice'), 'USAGE', /Invoice/);
  });

  it('loaders: a property that is no relation, an object that is no synced entity, an id that is no TwentyId', async () => {
    const person = Object.assign(new Person(), { id: '6f1c1b84-0c1a-4c53-9d0e-2d5b8f1f3a10', name: 'Ada' });
    await misuse(() => sync.loaders().related(person, 'name'), 'USAGE', /Person\.name is not a relation/);
    await misuse(
      () => sync.loaders().inverse(person, 'company'),
      'USAGE',
      /Person\.company is not a one-to-many/,
    );
    await misuse(() => sync.loaders().related(new Note(), 'text'), 'USAGE', /Note is not a synced entity/);
    // The record first and the entity last: not a form, and the error shows the one that is.
    const plain = { id: person.id, name: 'Ada' };
    const loaders = sync.loaders();
    const untyped = loaders.related as (...args: unknown[]) => Promise<unknown>;
    await misuse(
      () => untyped.call(loaders, plain, 'company', 'Person'),
      'USAGE',
      /loaders\.related\(…\) with three arguments takes the entity first.*loaders\.related\(Entity, record, 'property'\)/,
    );
    await misuse(
      () => sync.loaders().byId(Company).load('not-a-uuid'),
      'TWENTY_ID_INVALID',
      /"not-a-uuid".*Company/,
    );
  });

  it('a conflict that does not exist, flush with write-back off, subscriptions without a base URL', async () => {
    await misuse(() => sync.conflicts.resolve(987654, 'local'), 'CONFLICT_NOT_FOUND', /987654/);
    expect(await sync.conflicts.resolve(987654, 'local').catch((e) => e)).toBeInstanceOf(
      ConflictNotFoundError,
    );
    await misuse(() => sync.flush(), 'USAGE', /write-back is disabled.*flush\(\)/);
    await misuse(() => sync.webhooks.ensureSubscriptions(), 'CONFIG_INVALID', /webhooks\.baseUrl/);
  });

  it('every call after close() is a ClosedError naming the call', async () => {
    await sync.close();
    await sync.close(); // closing twice is fine
    const calls: [string, () => unknown][] = [
      ['flush()', () => sync.flush()],
      ['refresh()', () => sync.refresh(Company)],
      ['pull()', () => sync.pull()],
      ['status()', () => sync.status()],
      ['loaders()', () => sync.loaders()],
      ['verify()', () => sync.verify()],
      ['ensureLoaded()', () => sync.ensureLoaded(Company)],
      ['loadAll()', () => sync.loadAll()],
      ['rebuild()', () => sync.rebuild()],
      ['plan()', () => sync.plan()],
      ['bootstrap()', () => sync.bootstrap()],
      ['markDirty()', () => sync.markDirty(Company, [])],
      ['deadLetters()', () => sync.deadLetters()],
      ['retryDeadLetters()', () => sync.retryDeadLetters()],
      ['pending()', () => sync.pending()],
      ['migrate()', () => sync.migrate({ dryRun: true })],
    ];
    for (const [name, call] of calls) {
      const error = await misuse(
        call,
        'CLOSED',
        new RegExp(`sync\\.${name.replace(/[()]/g, '\\$&')} was called after SharePointSync was closed`),
      );
      expect(error).toBeInstanceOf(ClosedError);
    }
  });
});

describe('workspaces misuse', () => {
  it('bad SharePointWorkspaces options are ConfigErrors naming the option', () => {
    const resolve = () => undefined;
    const cases: [unknown, RegExp][] = [
      [{}, /options\.resolve.*function/],
      [{ resolve, maxAttached: 0 }, /options\.maxAttached.*"0".*≥ 1/],
      [{ resolve, idleTimeoutMs: -1 }, /options\.idleTimeoutMs/],
      [{ resolve, attachWaitTimeoutMs: 0 }, /options\.attachWaitTimeoutMs/],
      [{ resolve, worker: { recordsPerTurn: 21 } }, /options\.worker\.recordsPerTurn.*21/],
    ];
    for (const [options, names] of cases) {
      let caught: unknown;
      try {
        new SharePointWorkspaces(options as ConstructorParameters<typeof SharePointWorkspaces>[0]);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).code).toBe('CONFIG_INVALID');
      expect((caught as Error).message).toMatch(names);
    }
  });

  it('bad settings name the workspace and the setting; get() with no id, an unknown id, after close()', async () => {
    const settings = await misuse(
      () => parseWorkspaceSettings('acme', { site: 'https://contoso.sharepoint.com/sites/acme' }),
      'WORKSPACE_SETTINGS_INVALID',
      /workspace "acme": settings\.site must be a site as host:\/path/,
    );
    expect(settings).toBeInstanceOf(WorkspaceSettingsError);
    await misuse(
      () => parseWorkspaceSettings('acme', { site: SITE, syncMode: 'fast' }),
      'WORKSPACE_SETTINGS_INVALID',
      /settings\.syncMode.*"fast"/,
    );
    await misuse(
      () => parseWorkspaceSettings('acme', { site: SITE, colour: 'red' }),
      'WORKSPACE_SETTINGS_INVALID',
      /settings\.colour is not a setting/,
    );

    const workspaces = new SharePointWorkspaces({ resolve: () => undefined });
    await misuse(() => workspaces.get(''), 'USAGE', /workspace id/);
    const unknown = await misuse(() => workspaces.get('ghost'), 'WORKSPACE_UNKNOWN', /"ghost"/);
    expect(unknown).toBeInstanceOf(UnknownWorkspaceError);
    await workspaces.close();
    await misuse(
      () => workspaces.get('ghost'),
      'CLOSED',
      /get\("ghost"\) was called after SharePointWorkspaces was closed/,
    );
  });
});

describe('the rest of the surface', () => {
  it('configFromEnv: a bad variable names it; a decorator with a bad option is a UsageError', async () => {
    await misuse(
      () =>
        configFromEnv({
          SHAREPOINT_SITE_HOSTNAME: 'contoso.sharepoint.com',
          SHAREPOINT_SITE_PATH: '/sites/x',
          SHAREPOINT_GRAPH_BASE_URL: 'ftp://graph',
        }),
      'CONFIG_INVALID',
      /SHAREPOINT_GRAPH_BASE_URL.*ftp:\/\/graph.*http\(s\)/,
    );
    await misuse(() => configFromEnv({}), 'CONFIG_INVALID', /SHAREPOINT_SITE_HOSTNAME/);
    await misuse(
      () => SharePointList({ priority: 'P9' as 'P0' }),
      'USAGE',
      /@SharePointList: priority must be one of P0, P1, P2, P3 \(got "P9"\)/,
    );
  });

  it('parseSiteRef: the library and the emulator accept and refuse the same site references', async () => {
    const refs = [
      'contoso.sharepoint.com:/sites/crm',
      'contoso.sharepoint.com:/',
      'CONTOSO.sharepoint.com:/sites/Twenty-acme',
      'a-b.example:/sites/x/y',
      'contoso.sharepoint.com:sites/crm',
      'contoso.sharepoint.com',
      ':/sites/crm',
      'https://contoso.sharepoint.com/sites/crm',
      'https://contoso.sharepoint.com:/sites/crm',
      'con toso:/sites/crm',
      'contoso.sharepoint.com:/sites/c rm',
      'contoso_x.sharepoint.com:/sites/crm',
      '',
    ];
    for (const ref of refs) {
      const library = (() => {
        try {
          return parseSiteRef(ref);
        } catch (error) {
          expect(error, ref).toBeInstanceOf(ConfigError);
          expect((error as Error).message).toContain('host:/path');
          return undefined;
        }
      })();
      const emulated = (() => {
        try {
          return emulatorParseSiteRef(ref);
        } catch {
          return undefined;
        }
      })();
      expect(
        emulated === undefined,
        `the emulator ${emulated ? 'accepts' : 'refuses'} ${JSON.stringify(ref)}`,
      ).toBe(library === undefined);
      if (library && emulated) expect(emulated.hostname).toBe(library.hostname);
    }
    expect(parseSiteRef('contoso.sharepoint.com:/sites/crm')).toEqual({
      hostname: 'contoso.sharepoint.com',
      path: '/sites/crm',
    });
    await misuse(
      () => parseSiteRef('https://contoso.sharepoint.com/sites/crm', '--site'),
      'CONFIG_INVALID',
      /--site.*without a scheme/,
    );
  });
});
