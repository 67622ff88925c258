import { Column, DataSource, Entity, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { SharePointList } from '../../src/schema/index.js';
import { createEmulator, type Emulator, type RequestLogEntry } from '../../src/testing/index.js';
import {
  SharePointWorkspaces,
  type SharePointWorkspacesOptions,
  type WorkspaceDefinition,
  type WorkspaceSettingsInput,
} from '../../src/workspaces/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/** No priority on the entities: each workspace's `syncMode` decides. */
@SharePointList({ title: 'Companies' })
@Entity()
export class Company {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 100 }) name!: string;
}

@SharePointList({ title: 'People' })
@Entity()
export class Person {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 100 }) name!: string;
  @ManyToOne(() => Company, { nullable: true }) company?: Company | null;
}

export const entities = [Company, Person];

export interface WorkspacesHarness {
  db: TestDatabase;
  emulator: Emulator;
  url: string;
  /** `host:/path` per workspace id. */
  sites: Record<string, string>;
  /** Definitions handed out by the resolver (tests may edit them). */
  definitions: Map<string, WorkspaceDefinition>;
  resolved: string[];
  workspaces: SharePointWorkspaces;
  /** A fresh SharePointWorkspaces over the same database, emulator and definitions. */
  create(options?: Partial<SharePointWorkspacesOptions>): SharePointWorkspaces;
  /** Log entries (outer calls and inner `$batch` requests) that address the workspace's site. */
  requestsFor(workspaceId: string, entries?: readonly RequestLogEntry[]): RequestLogEntry[];
  /** Titles (company names) held by the workspace's site. */
  companiesIn(workspaceId: string): string[];
  admin: DataSource;
  close(): Promise<void>;
}

/** One database, one loopback emulator with a site per workspace, a DataSource factory per schema. */
export async function createWorkspacesHarness(
  sites: Record<string, string>,
  options: {
    settings?: Partial<WorkspaceSettingsInput>;
    workspaces?: Partial<SharePointWorkspacesOptions>;
    emulator?: Partial<Parameters<typeof createEmulator>[0]>;
  } = {},
): Promise<WorkspacesHarness> {
  const db = await createTestDatabase();
  const admin = new DataSource({ type: 'postgres', url: db.url });
  await admin.initialize();
  const emulator = createEmulator({
    sites: [...new Set(Object.values(sites))],
    seed: 11,
    ...options.emulator,
  });
  const { url } = await emulator.listen();
  const definitions = new Map<string, WorkspaceDefinition>();
  for (const [id, site] of Object.entries(sites)) {
    definitions.set(id, {
      settings: { site, syncMode: 'immediate', ...options.settings },
      dataSource: async (schema) => {
        const dataSource = new DataSource({
          type: 'postgres',
          url: db.url,
          schema,
          entities,
          extra: { max: 6 },
        });
        await dataSource.initialize();
        await dataSource.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
        await dataSource.synchronize();
        return dataSource;
      },
    });
  }
  const resolved: string[] = [];
  const created: SharePointWorkspaces[] = [];
  const create = (o: Partial<SharePointWorkspacesOptions> = {}) => {
    const workspaces = new SharePointWorkspaces({
      resolve: (id) => {
        resolved.push(id);
        return definitions.get(id);
      },
      tenantBudget: { resourceUnitsPerMinute: 10_000_000 },
      worker: { pollIntervalMs: 100 },
      ...options.workspaces,
      ...o,
      defaults: {
        graph: { baseUrl: `${url}/v1.0` },
        cache: { lazy: true },
        ...options.workspaces?.defaults,
        ...o.defaults,
      },
    });
    created.push(workspaces);
    return workspaces;
  };
  const siteKeys = (id: string) => {
    const ref = sites[id]!;
    const siteId = emulator.site(ref).id;
    return [siteId, ref];
  };
  return {
    db,
    emulator,
    url,
    sites,
    definitions,
    resolved,
    workspaces: create(),
    create,
    admin,
    requestsFor(id, entries = emulator.log.entries) {
      const [siteId, ref] = siteKeys(id) as [string, string];
      return entries.filter((e) => e.path.includes(siteId) || e.path.endsWith(ref));
    },
    companiesIn(id) {
      const list = emulator.site(sites[id]!).list('Companies');
      return (list?.items() ?? []).map((i) => String(i.fields.Name ?? i.fields.Title)).sort();
    },
    async close() {
      await Promise.allSettled(created.map((w) => w.close()));
      await admin.destroy().catch(() => undefined);
      await emulator.close().catch(() => undefined);
      await db.drop();
    },
  };
}
