// Relations in an HTTP handler: one loader set per request, no N+1 — neither in PostgreSQL nor in SharePoint.
//   npx tsx examples/relations/index.ts            (embedded PostgreSQL; or DATABASE_URL=postgres://… for a server)
import 'reflect-metadata';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { Column, DataSource, Entity, ManyToOne, OneToMany, PrimaryGeneratedColumn } from 'typeorm';
import { SharePointList, SharePointSync } from 'typeorm-sharepoint';
import { createEmulator, startEmbeddedPostgres } from 'typeorm-sharepoint/testing';

// tsx emits no decorator metadata: every column names its type.
@SharePointList({ title: 'Example Companies' })
@Entity('example_company')
export class Company {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 100 }) name!: string;
  @OneToMany(
    () => Person,
    (p) => p.company,
  )
  people?: Person[];
}

@SharePointList({ title: 'Example People' })
@Entity('example_person')
export class Person {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 100 }) name!: string;
  @ManyToOne(
    () => Company,
    (c) => c.people,
    { nullable: true },
  )
  company?: Company | string | null;
}

export interface ExampleResult {
  people: { name: string; company: string | null }[];
  companies: { name: string; people: number }[];
  sqlQueries: number;
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

export async function main(serverUrl: string): Promise<ExampleResult> {
  const db = await withDatabase(serverUrl, `tsp_example_relations_${process.pid}`);
  const emulator = createEmulator({ sites: ['contoso.sharepoint.com:/sites/example'] });
  const { url } = await emulator.listen();
  let sqlQueries = 0;
  const dataSource = new DataSource({
    type: 'postgres',
    url: db.url,
    entities: [Company, Person],
    synchronize: true,
    logging: ['query'],
    logger: {
      logQuery: () => void sqlQueries++,
      logQueryError() {},
      logQuerySlow() {},
      logSchemaBuild() {},
      logMigration() {},
      log() {},
    },
  });
  await dataSource.initialize();
  const sync = await SharePointSync.attach(dataSource, {
    site: { hostname: 'contoso.sharepoint.com', path: '/sites/example' },
    graph: { baseUrl: `${url}/v1.0` },
    writeback: { runWorker: false },
  });
  const acme = await dataSource.getRepository(Company).save({ name: 'Acme' });
  const globex = await dataSource.getRepository(Company).save({ name: 'Globex' });
  await dataSource.getRepository(Person).save([
    { name: 'Ada', company: acme },
    { name: 'Grace', company: globex },
    { name: 'Linus', company: acme },
  ]);
  await sync.flush();

  // The handler: one loader set per request.
  const server = http.createServer(async (req, res) => {
    const loaders = sync.loaders();
    const before = sqlQueries;
    if (req.url === '/people') {
      const people = await dataSource
        .getRepository(Person)
        .find({ loadRelationIds: true, order: { name: 'ASC' } });
      const rows = await Promise.all(
        people.map(async (p) => ({
          name: p.name,
          company: ((await loaders.related<Company>(Person, p, 'company')) as Company | null)?.name ?? null,
        })),
      );
      res.setHeader('x-sql-queries', String(sqlQueries - before));
      res.end(JSON.stringify(rows));
    } else if (req.url === '/companies') {
      const companies = await dataSource.getRepository(Company).find({ order: { name: 'ASC' } });
      const rows = await Promise.all(
        companies.map(async (c) => ({
          name: c.name,
          people: (await loaders.inverse(Company, c, 'people')).length,
        })),
      );
      res.setHeader('x-sql-queries', String(sqlQueries - before));
      res.end(JSON.stringify(rows));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const people = await fetch(`${base}/people`);
    const companies = await fetch(`${base}/companies`);
    return {
      people: (await people.json()) as ExampleResult['people'],
      companies: (await companies.json()) as ExampleResult['companies'],
      // Per request: the list query + one batched query for all relations.
      sqlQueries:
        Number(people.headers.get('x-sql-queries')) + Number(companies.headers.get('x-sql-queries')),
    };
  } finally {
    server.close();
    await sync.close();
    await dataSource.destroy();
    await emulator.close();
    await db.drop();
  }
}

// Run directly: `npx tsx examples/relations/index.ts`.
if (process.argv[1] && /examples[\\/]relations[\\/]index\.ts$/.test(process.argv[1])) {
  const start = async () =>
    process.env.DATABASE_URL
      ? { url: process.env.DATABASE_URL, stop: async () => {} }
      : startEmbeddedPostgres();
  const database = await start();
  try {
    console.log(JSON.stringify(await main(database.url), null, 2));
  } finally {
    await database.stop();
  }
}
