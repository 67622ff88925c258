import pg from 'pg';
import { DataSource } from 'typeorm';
import { SharePointSync } from 'typeorm-sharepoint';
import { createEmulator, startEmbeddedPostgres } from 'typeorm-sharepoint/testing';
import { DemoCompany, DemoPerson } from './entities.js';

/**
 * The demo: SharePoint is the source of truth, PostgreSQL a disposable cache — shown end to end on the
 * emulator and an embedded PostgreSQL (or `databaseUrl`, a server where it may create a database).
 * bootstrap → write through TypeORM → SharePoint has it → a person edits in SharePoint → the cache follows
 * → drop the whole database → rebuild from SharePoint → verify.
 */
export interface DemoOptions {
  /** A PostgreSQL server URL; the demo creates (and drops) its own database there. Default: embedded PostgreSQL. */
  databaseUrl?: string;
  /** Where the demo writes its story. Default: console.log. */
  print?: (line: string) => void;
}

export interface DemoResult {
  companies: number;
  people: number;
  itemsInSharePoint: number;
  rebuiltRows: number;
  verifyOk: boolean;
}

const SITE = 'contoso.sharepoint.com:/sites/demo';
// Per process, so two demos (or the demo's tests) on one server never meet.
const DATABASE = `typeorm_sharepoint_demo_${process.pid}`;

// Over 80 lines: a linear script of printed demo steps (each `step(...)` a few statements), read top to bottom.
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const print = options.print ?? ((line: string) => console.log(line));
  const step = (title: string) => print(`\n▶ ${title}`);
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    step('Starting the SharePoint emulator and PostgreSQL');
    const emulator = createEmulator({ sites: [SITE] });
    const server = await emulator.listen();
    cleanups.push(() => emulator.close());
    print(`  Graph emulator: ${server.url}/v1.0 (site ${SITE})`);
    let serverUrl = options.databaseUrl;
    if (!serverUrl) {
      const embedded = await startEmbeddedPostgres();
      cleanups.push(() => embedded.stop());
      serverUrl = embedded.url;
    }
    print(`  PostgreSQL: ${redact(serverUrl)}${options.databaseUrl ? '' : ' (embedded)'}`);
    await recreateDatabase(serverUrl);
    cleanups.push(() => dropDatabase(serverUrl));
    const databaseUrl = withDatabase(serverUrl, DATABASE);

    const site = { hostname: 'contoso.sharepoint.com', path: '/sites/demo' };
    const attach = async () => {
      const dataSource = new DataSource({
        type: 'postgres',
        url: databaseUrl,
        entities: [DemoCompany, DemoPerson],
        synchronize: true,
      });
      await dataSource.initialize();
      const sync = await SharePointSync.attach(dataSource, {
        site,
        graph: { baseUrl: `${server.url}/v1.0` },
        writeback: { runWorker: false },
      });
      return { dataSource, sync };
    };

    step('Attaching: the lists and columns are created in SharePoint from the entities');
    let { dataSource, sync } = await attach();
    const emulated = emulator.site(SITE);
    for (const list of emulated.lists()) {
      const ours = list
        .columns()
        .filter((c) => !c.readOnly && !['Title', 'ContentType', 'Attachments'].includes(c.name));
      print(`  list "${list.displayName}": ${ours.map((c) => c.name).join(', ')}`);
    }

    step('Writing through ordinary TypeORM repositories');
    const companies = dataSource.getRepository(DemoCompany);
    const people = dataSource.getRepository(DemoPerson);
    const contoso = await companies.save({
      name: 'Contoso',
      employees: 120,
      address: { street: '1 Main St', city: 'Seattle' },
    });
    const fabrikam = await companies.save({
      name: 'Fabrikam',
      employees: 45,
      address: { street: null, city: 'Berlin' },
    });
    await people.save([
      { name: 'Ada Lovelace', email: 'ada@contoso.example', company: contoso },
      { name: 'Alan Turing', email: 'alan@fabrikam.example', company: fabrikam },
      { name: 'Grace Hopper', email: 'grace@contoso.example', company: contoso },
    ]);
    await companies.update(fabrikam.id, { employees: 46 });
    const pending = await sync.pending();
    print(`  committed in PostgreSQL; ${pending.total} change(s) waiting in the outbox`);

    step('Write-back: the outbox is sent to SharePoint in $batch calls');
    const flushed = await sync.flush();
    print(`  sent ${flushed.sent} record(s); the outbox is empty`);
    const peopleList = emulated.list('Demo People')!;
    for (const item of peopleList.items()) {
      print(
        `  SharePoint item ${item.id}: ${JSON.stringify(pick(item.fields, ['TwentyId', 'Name', 'CompanyId']))}`,
      );
    }

    step('A person edits an item directly in SharePoint; the cache follows (delta)');
    const ada = peopleList.items().find((i) => i.fields.Name === 'Ada Lovelace')!;
    peopleList.updateItem(ada.id, { Email: 'ada.lovelace@contoso.example' });
    await sync.refresh(DemoPerson);
    const adaRow = await people.findOneByOrFail({ name: 'Ada Lovelace' });
    print(`  PostgreSQL now says: ${adaRow.email}`);

    step('Dropping the whole PostgreSQL database (the cache is disposable)');
    await sync.close();
    await dataSource.destroy();
    await recreateDatabase(serverUrl);
    print(`  database ${DATABASE} dropped and created empty`);

    step('Re-attaching and rebuilding the cache from SharePoint');
    ({ dataSource, sync } = await attach());
    const rebuilt = await sync.rebuild();
    for (const r of rebuilt) print(`  ${r.entity}: ${r.loaded} row(s) loaded in ${r.durationMs} ms`);
    const withCompany = await dataSource
      .getRepository(DemoPerson)
      .find({ relations: { company: true }, order: { name: 'ASC' } });
    for (const p of withCompany) print(`  ${p.name} → ${p.company?.name ?? '(no company)'} (${p.email})`);

    step('Verifying PostgreSQL against SharePoint');
    const report = await sync.verify();
    for (const l of report.lists) {
      print(
        `  ${l.entity}: PostgreSQL ${l.postgresCount}, SharePoint ${l.sharePointCount}, ${l.drift ? 'DRIFT' : 'in agreement'}`,
      );
    }
    const counters = emulator.log.counters();
    print(
      `\n✔ Done: ${counters.requests} HTTP request(s) to Graph (${counters.batchRequests} inside $batch), ${counters.resourceUnits} resource units.`,
    );

    const result: DemoResult = {
      companies: await dataSource.getRepository(DemoCompany).count(),
      people: withCompany.length,
      itemsInSharePoint: emulated.lists().reduce((n, l) => n + l.items().length, 0),
      rebuiltRows: rebuilt.reduce((n, r) => n + r.loaded, 0),
      verifyOk: report.ok,
    };
    await sync.close();
    await dataSource.destroy();
    return result;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

function pick(fields: Record<string, unknown>, names: string[]): Record<string, unknown> {
  return Object.fromEntries(names.filter((n) => n in fields).map((n) => [n, fields[n]]));
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function adminQuery(serverUrl: string, statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

async function recreateDatabase(serverUrl: string): Promise<void> {
  await adminQuery(serverUrl, [
    `DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`,
    `CREATE DATABASE ${DATABASE}`,
  ]);
}

async function dropDatabase(serverUrl: string): Promise<void> {
  await adminQuery(serverUrl, [`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`]);
}
