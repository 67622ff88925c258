import path from 'node:path';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { DataSource } from 'typeorm';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/context.js';
import type { TokenCredential } from '../../src/graph/index.js';
import { createEmulator } from '../../src/testing/index.js';
import { defaultWorkspaceSchema } from '../../src/workspaces/index.js';
import { runCli } from '../cli/run.js';
import { ensureBuilt } from '../support/build.js';
import { createTestDatabase } from '../support/database.js';
import { waitFor } from '../support/wait.js';
import { Company, createWorkspacesHarness, entities, type WorkspacesHarness } from './harness.js';

// One test per defect of issue 21 (tenant isolation of SharePointWorkspaces).

let h: WorkspacesHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function capturingLogger() {
  const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    lines.push({ level, message, ...(fields ? { fields } : {}) });
  const logger: Logger = { debug: () => undefined, info: at('info'), warn: at('warn'), error: at('error') };
  return { logger, lines };
}

async function companiesInSchema(h: WorkspacesHarness, schema: string): Promise<string[]> {
  const found: { name: string }[] = await h.admin.query(`SELECT name FROM "${schema}".company ORDER BY name`);
  return found.map((r) => r.name);
}

it('1: ids that the old rule folded together (acme.corp, acme-corp, acme_corp) get their own schema and site', async () => {
  const ids = ['acme.corp', 'acme-corp', 'acme_corp'];
  h = await createWorkspacesHarness(
    Object.fromEntries(ids.map((id, i) => [id, `contoso.sharepoint.com:/sites/tenant-${i}`])),
  );
  for (const id of ids) {
    const { dataSource, schema } = await h.workspaces.workspace(id);
    expect(schema).toBe(defaultWorkspaceSchema(id));
    await dataSource.getRepository(Company).save([{ name: `${id}/1` }, { name: `${id}/2` }]);
  }
  expect(new Set(ids.map(defaultWorkspaceSchema)).size).toBe(3);
  for (const id of ids) {
    await waitFor(() => h!.companiesIn(id).length >= 2, { message: `${id} reaching its site` });
  }
  const current = h;
  await waitFor(async () => (await current.workspaces.status()).every((s) => s.pending === 0), {
    message: 'every outbox empty',
  });
  for (const id of ids) {
    expect(h.companiesIn(id)).toEqual([`${id}/1`, `${id}/2`]);
    expect(await companiesInSchema(h, defaultWorkspaceSchema(id))).toEqual([`${id}/1`, `${id}/2`]);
  }
}, 60_000);

it('2: a 100-character workspace id saves, and the change reaches its site (needs the 63-byte channel fix of branch g2)', async () => {
  const id = `tenant-${'x'.repeat(88)}.Corp`;
  expect(id).toHaveLength(100);
  h = await createWorkspacesHarness({ [id]: 'contoso.sharepoint.com:/sites/long' });
  const { dataSource, schema } = await h.workspaces.workspace(id);
  expect(Buffer.byteLength(schema)).toBeLessThanOrEqual(63);
  await dataSource.getRepository(Company).save({ name: 'long-id' });
  await waitFor(() => h!.companiesIn(id).includes('long-id'), { message: 'the save reaching the site' });
  expect(h.companiesIn(id)).toEqual(['long-id']);
}, 60_000);

it('3: a second workspace on the same site is refused (naming both and the site) unless allowSharedSites', async () => {
  const SITE = 'contoso.sharepoint.com:/sites/shared';
  h = await createWorkspacesHarness({ first: SITE, second: SITE });
  // The same site spelled with other letter case is the same site.
  h.definitions.set('third', {
    ...h.definitions.get('second')!,
    settings: { site: 'Contoso.SharePoint.com:/sites/Shared/', syncMode: 'immediate' },
  });
  await h.workspaces.get('first');
  h.emulator.log.reset();
  for (const id of ['second', 'third']) {
    const error = await h.workspaces.get(id).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, id).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('WorkspaceConflictError');
    expect((error as Error).message).toContain(`workspace "${id}"`);
    expect((error as Error).message).toContain('workspace "first"');
    expect((error as Error).message).toContain('/sites/');
    expect((error as Error).message).toContain('allowSharedSites');
  }
  // Refused before anything was sent or created for them.
  expect(h.emulator.log.entries).toEqual([]);
  expect(h.workspaces.attached()).toEqual(['first']);

  const sharing = h.create({ allowSharedSites: true });
  await sharing.get('first');
  await sharing.get('second');
  expect(sharing.attached()).toEqual(['first', 'second']);
}, 60_000);

it('4: a schema remembers its site: attaching it to another is refused; drain, drop, reload moves it', async () => {
  const OLD = 'contoso.sharepoint.com:/sites/mover-old';
  const OTHER = 'contoso.sharepoint.com:/sites/other-tenant';
  const NEW = 'contoso.sharepoint.com:/sites/mover-new';
  h = await createWorkspacesHarness({ mover: OLD, other: OTHER, spare: NEW });
  const other = await h.workspaces.workspace('other');
  await other.dataSource
    .getRepository(Company)
    .save(Array.from({ length: 3 }, (_, i) => ({ name: `other-${i}` })));
  await other.sync.flush();
  await h.workspaces.detach('other');
  const otherItems = h.companiesIn('other');
  expect(otherItems).toHaveLength(3);

  // mover: 5 changes in its site, 5 more still in its outbox.
  const quiet = h.create({ worker: { enabled: false } });
  const mover = await quiet.workspace('mover');
  const repo = mover.dataSource.getRepository(Company);
  await repo.save(Array.from({ length: 5 }, (_, i) => ({ name: `mover-${i}` })));
  await mover.sync.flush();
  await repo.save(Array.from({ length: 5 }, (_, i) => ({ name: `mover-${i + 5}` })));
  await quiet.close({ flush: false });

  // The resolver now names another tenant's site for mover.
  h.definitions.get('mover')!.settings = { site: OTHER, syncMode: 'immediate' };
  h.emulator.log.reset();
  const workspaces = h.create();
  const error = await workspaces.get('mover').then(
    () => undefined,
    (e: unknown) => e,
  );
  expect((error as Error)?.name).toBe('WorkspaceAttachError');
  expect(((error as Error).cause as Error).name).toBe('SiteBindingError');
  expect((error as Error).message).toContain(
    'schema "workspace_mover" caches site contoso.sharepoint.com:/sites/mover-old',
  );
  expect((error as Error).message).toContain('/sites/other-tenant');
  expect((error as Error).message).toContain('drain it while it still names the old site');
  expect(h.companiesIn('other')).toEqual(otherItems);
  expect(h.requestsFor('other').filter((e) => e.method !== 'GET')).toEqual([]);

  // The documented move: drain on the old site, drop the cache, attach with the new site.
  h.definitions.get('mover')!.settings = { site: OLD, syncMode: 'immediate' };
  await workspaces.get('mover');
  await workspaces.detach('mover', { drain: true });
  expect(h.companiesIn('mover')).toHaveLength(10);
  await h.admin.query('DROP SCHEMA workspace_mover CASCADE');
  h.definitions.get('mover')!.settings = { site: NEW, syncMode: 'immediate' };
  const moved = await workspaces.workspace('mover');
  await moved.sync.ensureLoaded(Company);
  expect(await companiesInSchema(h, 'workspace_mover')).toEqual([]);
  await moved.dataSource.getRepository(Company).save({ name: 'mover-on-new' });
  await waitFor(() => h!.companiesIn('spare').includes('mover-on-new'), { message: 'the new site' });
  expect(h.companiesIn('other')).toEqual(otherItems);
}, 60_000);

describe('5: a workspace removed from the resolver with pending changes', () => {
  it('is reported loudly (log, status, metric), and detach({ drain: true }) sends everything first', async () => {
    h = await createWorkspacesHarness({
      gone: 'contoso.sharepoint.com:/sites/gone',
      kept: 'contoso.sharepoint.com:/sites/kept',
    });
    const reader = new PeriodicExportingMetricReader({
      exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
      exportIntervalMillis: 3_600_000,
    });
    const provider = new MeterProvider({ readers: [reader] });
    const { logger, lines } = capturingLogger();
    try {
      const workspaces = h.create({
        logger,
        worker: { enabled: false },
        defaults: { metrics: { meter: provider.getMeter('isolation') } },
      });
      for (const id of ['gone', 'kept']) {
        const { dataSource } = await workspaces.workspace(id);
        await dataSource
          .getRepository(Company)
          .save(Array.from({ length: 10 }, (_, i) => ({ name: `${id}-${i}` })));
      }
      h.definitions.delete('gone');
      await workspaces.detach('gone', { flush: false });

      const stranded = (await workspaces.status()).find((s) => s.workspace === 'gone');
      expect(stranded?.stranded).toMatchObject({ workspace: 'gone', pending: 10 });
      expect(stranded?.pending).toBe(10);
      expect(workspaces.stranded().map((s) => s.workspace)).toEqual(['gone']);
      const logged = lines.find((l) => l.level === 'error' && l.message.includes('"gone"'));
      expect(logged?.message).toContain('10 change(s)');
      const { resourceMetrics } = await reader.collect();
      const points = resourceMetrics.scopeMetrics
        .flatMap((s) => s.metrics)
        .filter((m) => m.descriptor.name.includes('stranded'))
        .flatMap((m) => m.dataPoints.map((p) => ({ name: m.descriptor.name, ...p })));
      expect(points.some((p) => p.attributes.workspace === 'gone' && p.value === 10)).toBe(true);

      // Drain, then detach: nothing is left behind, nothing is reported.
      await workspaces.detach('kept', { drain: true });
      expect(workspaces.attached()).toEqual([]);
      expect(h.companiesIn('kept')).toHaveLength(10);
      expect(workspaces.stranded().map((s) => s.workspace)).toEqual(['gone']);
      expect(h.companiesIn('gone')).toEqual([]);
    } finally {
      await provider.shutdown();
    }
  }, 60_000);
});

describe('6: maxAttached is a limit, and a held workspace is never closed', () => {
  it('holds the limit under concurrent attaches, never closes a lease, and bounds connections', async () => {
    const ids = ['w1', 'w2', 'w3', 'w4', 'w5'];
    h = await createWorkspacesHarness(
      Object.fromEntries(ids.map((id) => [id, `contoso.sharepoint.com:/sites/${id}`])),
    );
    let live = 0;
    let maxLive = 0;
    const POOL = 3;
    for (const id of ids) {
      h.definitions.get(id)!.dataSource = async (schema) => {
        const dataSource = new DataSource({
          type: 'postgres',
          url: h!.db.url,
          schema,
          entities,
          extra: { max: POOL },
        });
        await dataSource.initialize();
        await dataSource.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
        await dataSource.synchronize();
        live++;
        maxLive = Math.max(maxLive, live);
        const destroy = dataSource.destroy.bind(dataSource);
        dataSource.destroy = async () => {
          live--;
          return destroy();
        };
        return dataSource;
      };
    }
    const workspaces = h.create({ maxAttached: 2, attachWaitTimeoutMs: 30_000 });
    const dbName = new URL(h.db.url).pathname.slice(1);
    let maxConnections = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [row] = await h!.admin.query(
          'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1',
          [dbName],
        );
        maxConnections = Math.max(maxConnections, row.n);
        await new Promise((r) => setImmediate(r));
      }
    })();

    // Hold acme-like w1 while three others are fetched, saving through it all along.
    const lease = await workspaces.acquire('w1');
    const saves = Array.from({ length: 30 }, (_, i) =>
      lease.dataSource.getRepository(Company).save({ name: `w1-${i}` }),
    );
    await Promise.all([
      ...saves,
      ...['w2', 'w3', 'w4'].map((id) =>
        workspaces.use(id, (w) => w.dataSource.getRepository(Company).save({ name: `${id}-0` })),
      ),
    ]);
    expect(workspaces.attached()).toContain('w1');
    expect(lease.dataSource.isInitialized).toBe(true);
    expect(maxLive).toBeLessThanOrEqual(2);

    const second = await workspaces.acquire('w2');
    // In the main pool: w3 waits for w1's release, and then w1 (not the held w2) is closed.
    const third = workspaces.get('w3');
    lease.release();
    await third;
    expect(workspaces.attached().sort()).toEqual(['w2', 'w3']);
    second.release();
    sampling = false;
    await sampler;
    console.info(
      `maxAttached 2, pool ${POOL}: at most ${maxLive} DataSources and ${maxConnections} connections (admin included)`,
    );
    expect(maxLive).toBeLessThanOrEqual(2);
    // maxAttached × pool size, plus the admin connection and the sampler's, plus the budget ledger's 2 (one
    // pool per database, shared by every workspace's DataSource: not 2 per workspace).
    expect(maxConnections).toBeLessThanOrEqual(2 * POOL + 2 + 2);
    await waitFor(() => h!.companiesIn('w1').length === 30, { message: "w1's 30 saves in its site" });

    // Another pool of one: while its only workspace is held, a second attach waits, then names the holder.
    const small = h.create({ maxAttached: 1, attachWaitTimeoutMs: 200 });
    const held = await small.acquire('w5');
    const blocked = await small.get('w4').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((blocked as Error)?.name).toBe('WorkspaceCapacityError');
    expect((blocked as Error).message).toContain('held: w5');
    held.release();
    await small.close();
  }, 120_000);
});

it('7: turns of tenants waiting for their budget give their slots back: other tenants are not held up', async () => {
  // Four throttled tenants, one workspace each, and a fifth tenant with budget to spare. One workspace per
  // tenant: a tenant's first turn always starts (the pool skips a tenant only once its budget has said it
  // must wait), so four turns wait at once whatever the order the workers wake in.
  const SITES = {
    a: 'fabrikam.sharepoint.com:/sites/a',
    b: 'northwind.sharepoint.com:/sites/b',
    d: 'adventureworks.sharepoint.com:/sites/d',
    e: 'tailspin.sharepoint.com:/sites/e',
    c: 'contoso.sharepoint.com:/sites/c',
  };
  const WINDOW_MS = 4000;
  const BUDGET = 1000;
  h = await createWorkspacesHarness(SITES);
  // Default pool: 4 slots.
  const workspaces = h.create({
    tenantBudget: { resourceUnitsPerMinute: BUDGET, windowMs: WINDOW_MS },
    worker: { pollIntervalMs: 100 },
  });
  for (const id of Object.keys(SITES)) await workspaces.get(id);
  const throttled = ['a', 'b', 'd', 'e'];
  // The throttled tenants owe three windows' worth of units: a turn may start (the shared ledger says how long
  // a request waits only when asked, and a pool that knows nothing of costs would start it anyway) but its
  // create (2 RU) waits about 15 s for the bucket to refill — far longer than the rest of the test needs, so
  // no throttled change can land before the other tenant's, however slow the machine.
  for (const id of throttled) {
    const limiter = (await workspaces.get(id)).context.graph as unknown as {
      limiter: { acquire(units: number): Promise<void> };
    };
    await limiter.limiter.acquire(3 * BUDGET);
  }
  await Promise.all(
    throttled.map(async (id) =>
      (await workspaces.workspace(id)).dataSource.getRepository(Company).save({ name: `${id}-a` }),
    ),
  );
  // Each of the four has a turn in flight (its row claimed), waiting for its tenant's budget: as many turns
  // as the pool has slots.
  await waitFor(
    async () => {
      for (const id of throttled) {
        const [row] = await h!.admin.query(
          `SELECT count(*)::int AS n FROM "${defaultWorkspaceSchema(id)}".outbox WHERE claimed_by IS NOT NULL`,
        );
        if (row.n !== 1) return false;
      }
      return true;
    },
    { message: 'four turns waiting for their budget' },
  );
  const committedAt = Date.now();
  await (await workspaces.workspace('c')).dataSource.getRepository(Company).save({ name: 'c-a' });
  await waitFor(() => h!.companiesIn('c').includes('c-a'), { message: "c's change", timeoutMs: 15_000 });
  const latency = Date.now() - committedAt;
  console.info(
    `4 turns wait for their tenants' budget; the other tenant's change landed ${latency} ms after its commit`,
  );
  expect(latency).toBeLessThan(1000);
  for (const id of throttled) expect(h.companiesIn(id)).toEqual([]);
  for (const id of throttled) {
    await waitFor(() => h!.companiesIn(id).length === 1, {
      message: `${id} after its wait`,
      timeoutMs: 40_000,
    });
    expect(h.companiesIn(id)).toEqual([`${id}-a`]);
  }
}, 90_000);

it('8: read-only CLI commands with --workspace never write to SharePoint', async () => {
  const bin = await ensureBuilt();
  const db = await createTestDatabase();
  const SITE = 'contoso.sharepoint.com:/sites/Twenty-ro';
  const emulator = createEmulator({ sites: [SITE] });
  const { url } = await emulator.listen();
  try {
    const env = { WS_DATABASE_URL: db.url, WS_GRAPH_URL: `${url}/v1.0` };
    const fixture = path.resolve(import.meta.dirname, 'fixtures/isolation-workspaces.ts');
    for (const command of [['status'], ['verify'], ['dead-letters', 'list'], ['conflicts', 'list']]) {
      const result = await runCli(bin, ['--datasource', fixture, '--workspace', 'ro', ...command], env);
      expect(result.stderr, command.join(' ')).not.toContain('no workspace');
      const writes = emulator.log.entries.filter((e) => e.method !== 'GET' && !e.path.endsWith('/$batch'));
      expect(writes, command.join(' ')).toEqual([]);
      expect(emulator.site(SITE).lists(), command.join(' ')).toEqual([]);
    }
    expect(emulator.log.entries.length).toBeGreaterThan(0);
  } finally {
    await emulator.close();
    await db.drop();
  }
}, 300_000);

describe('9: tenant keys and credentials', () => {
  it('host names differing in case are one tenant with one budget', async () => {
    h = await createWorkspacesHarness({
      upper: 'Contoso.SharePoint.com:/sites/upper',
      lower: 'contoso.sharepoint.com:/sites/lower',
    });
    const upper = await h.workspaces.workspace('upper');
    const lower = await h.workspaces.workspace('lower');
    expect(upper.tenant).toBe(lower.tenant);
    const limiterOf = (w: typeof upper) => (w.sync.context.graph as unknown as { limiter: unknown }).limiter;
    expect(limiterOf(upper)).toBe(limiterOf(lower));
  }, 60_000);

  it('a workspace falling back to defaults.credential is warned about once per tenant, unless allowed', async () => {
    h = await createWorkspacesHarness({
      a: 'contoso.sharepoint.com:/sites/a',
      b: 'contoso.sharepoint.com:/sites/b',
      d: 'fabrikam.sharepoint.com:/sites/d',
      own: 'northwind.sharepoint.com:/sites/own',
    });
    const credential: TokenCredential = {
      getToken: async () => ({ token: 'tenant-a-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
    };
    h.definitions.get('own')!.credential = credential;
    const { logger, lines } = capturingLogger();
    const workspaces = h.create({ logger, defaults: { credential } });
    for (const id of ['a', 'b', 'd', 'own']) await workspaces.get(id);
    const warnings = lines.filter((l) => l.level === 'warn' && l.message.includes('defaults.credential'));
    expect(warnings.map((w) => w.fields?.workspace)).toEqual(['a', 'd']);
    expect(warnings[1]!.message).toContain('fabrikam.sharepoint.com');
    expect(warnings[1]!.message).toContain('allowDefaultCredential');

    const quiet = capturingLogger();
    const allowed = h.create({
      logger: quiet.logger,
      allowDefaultCredential: true,
      defaults: { credential },
    });
    for (const id of ['a', 'd']) await allowed.get(id);
    expect(quiet.lines.filter((l) => l.message.includes('defaults.credential'))).toEqual([]);
  }, 60_000);
});
