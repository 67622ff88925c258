import { afterAll, beforeAll, expect, it } from 'vitest';
import { defaultWorkspaceSchema, type SharePointWorkspaces } from '../../src/workspaces/index.js';
import { waitFor } from '../support/wait.js';
import { Company, createWorkspacesHarness, type WorkspacesHarness } from './harness.js';

// Issue 21, acceptance: 10 workspaces (ids the old schema rule folded together among them) write at once
// while at most 4 are attached (constant attach/evict churn) and one tenant is throttled. Every site and
// every schema must hold exactly its own workspace's records, and the other tenants' changes land within 1 s.

const SEED = Number(process.env.CROSS_TENANT_SEED ?? 21);
const IDS = [
  'acme.corp',
  'acme-corp',
  'acme_corp',
  'Acme_Corp',
  'café',
  'cafè',
  '日本',
  '中国',
  'globex',
  'initech',
];
const THROTTLED = 'acme.corp';
const RECORDS = 6;
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

let h: WorkspacesHarness;
let workspaces: SharePointWorkspaces;

beforeAll(async () => {
  // One tenant (host) per workspace; the throttled one is alone on its own.
  h = await createWorkspacesHarness(
    Object.fromEntries(IDS.map((id, i) => [id, `tenant${i}.sharepoint.com:/sites/crm`])),
    { emulator: { seed: SEED } },
  );
  workspaces = h.create({ maxAttached: 4, flushTimeoutMs: 20_000, worker: { pollIntervalMs: 50 } });
});

afterAll(async () => {
  await h?.close();
});

it('10 workspaces writing concurrently with churn and one throttled tenant stay isolated', async () => {
  console.info(`cross-tenant: seed ${SEED} (CROSS_TENANT_SEED to replay)`);
  const throttledSite = h.emulator.site(h.sites[THROTTLED]!).id;
  const fault = h.emulator.faults.inject({
    path: new RegExp(`^/sites/${escapeRegExp(throttledSite)}/lists/[^/]+/items$`),
    method: 'POST',
    status: 429,
    retryAfterSeconds: 1,
    // Its first creates are refused whatever the interleaving: the tenant pauses, then sends.
    count: 4,
  });

  const committed = new Map<string, number>();
  const seen = new Map<string, number>();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const now = Date.now();
      for (const id of IDS) for (const name of h.companiesIn(id)) if (!seen.has(name)) seen.set(name, now);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  let attachedMax = 0;
  const writers = IDS.map(async (id) => {
    for (let i = 0; i < RECORDS; i++) {
      const name = `${id}#${i}`;
      await workspaces.use(id, async ({ dataSource }) => {
        await dataSource.getRepository(Company).save({ name });
        committed.set(name, Date.now());
        attachedMax = Math.max(attachedMax, workspaces.attached().length);
      });
    }
  });
  await Promise.all(writers);
  await waitFor(() => seen.size === IDS.length * RECORDS, {
    message: 'every record in SharePoint',
    timeoutMs: 60_000,
  });
  sampling = false;
  await sampler;
  fault.remove();

  const latencies = IDS.filter((id) => id !== THROTTLED).flatMap((id) =>
    Array.from({ length: RECORDS }, (_, i) => seen.get(`${id}#${i}`)! - committed.get(`${id}#${i}`)!),
  );
  const worst = Math.max(...latencies);
  console.info(
    `cross-tenant: ${committed.size} records, at most ${attachedMax} attached, throttled site answered ` +
      `${fault.hits} 429s; unthrottled commit → SharePoint: median ${latencies.sort((a, b) => a - b)[latencies.length >> 1]} ms, worst ${worst} ms`,
  );
  expect(attachedMax).toBeLessThanOrEqual(4);
  expect(fault.hits).toBe(4);
  expect(worst).toBeLessThan(1000);

  await workspaces.close();
  const schemas = new Set(IDS.map(defaultWorkspaceSchema));
  expect(schemas.size).toBe(IDS.length);
  for (const id of IDS) {
    const own = Array.from({ length: RECORDS }, (_, i) => `${id}#${i}`).sort();
    // Every site: exactly its own workspace's records (the tag before '#').
    expect(h.companiesIn(id), `site of ${id}`).toEqual(own);
    // Every schema: only its own.
    const rows: { name: string }[] = await h.admin.query(
      `SELECT name FROM "${defaultWorkspaceSchema(id)}".company ORDER BY name`,
    );
    expect(rows.map((r) => r.name).sort(), `schema of ${id}`).toEqual(own);
    const [pending] = await h.admin.query(
      `SELECT count(*)::int AS n FROM "${defaultWorkspaceSchema(id)}".outbox`,
    );
    expect(pending.n, `outbox of ${id}`).toBe(0);
  }
}, 180_000);
