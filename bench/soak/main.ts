// The standing check "everything at once" (issue 14): three application processes on one database with the
// SharePoint emulator in a fourth, a person editing SharePoint, re-attaches, a SIGKILLed worker and killed
// PostgreSQL connections — then the chaos stops, everything is flushed and the history is model-checked.
//   npm run soak                          (SOAK_SECONDS, default 60; SOAK_SEED; SOAK_FAULTS=0 to turn off
//                                          Graph faults; DATABASE_URL or TEST_DATABASE_URL, else embedded)
// Prints the seed, the counts and every finding; exits 1 on any loss, duplicate, resurrection, false conflict
// or verify drift. SOAK_JSON=path also writes the report as JSON.
import 'reflect-metadata';
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { SharePointSync } from '../../src/index.js';
import { WORKER_LOCK_CLASS } from '../../src/store/sql.js';
import { startEmbeddedPostgres } from '../../src/testing/index.js';
import { type ConflictRecord, check, type FinalRecord, formatReport } from './checker.js';
import { SITE, SOAK_ENTITIES } from './entities.js';
import { historyWriter, parseHistory, seeded } from './history.js';
import { type PersonList, SimulatedPerson } from './person.js';

const here = path.dirname(new URL(import.meta.url).pathname);
const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const SEED = Number(process.env.SOAK_SEED ?? Math.floor(Math.random() * 2 ** 31));
const FAULTS = process.env.SOAK_FAULTS !== '0';
// Each kind of chaos can be turned off to tell which one a finding needs (all on by default).
const SIGKILL = process.env.SOAK_SIGKILL !== '0';
const PGKILL = process.env.SOAK_PGKILL !== '0';
const REATTACH = process.env.SOAK_REATTACH !== '0';
const WORKERS = 3;
const rng = seeded(SEED);
const started = Date.now();
const say = (message: string) =>
  console.log(`[soak ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${message}`);

say(
  `seed ${SEED} (SOAK_SEED=${SEED} repeats the choices), ${SECONDS} s, Graph faults ${FAULTS ? 'on' : 'off'}`,
);

// ── database ──
async function database(): Promise<{ url: string; stop(): Promise<void> }> {
  const given = process.env.DATABASE_URL || process.env.TEST_DATABASE_URL;
  if (!given) {
    const server = await startEmbeddedPostgres();
    return { url: server.url, stop: () => server.stop() };
  }
  const name = `tsp_soak_${process.pid}_${Date.now() % 100000}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: given });
    await client.connect();
    await client.query(statement).finally(() => client.end());
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(given);
  url.pathname = `/${name}`;
  return { url: url.toString(), stop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const tsx = ['--import', 'tsx'];
const workers: (ChildProcess | undefined)[] = [];
const db = await database();
const dir = mkdtempSync(path.join(os.tmpdir(), 'typeorm-sharepoint-soak-'));
say(`history in ${dir}`);
const mainLog = historyWriter(path.join(dir, 'main.jsonl'));

// ── the emulator, in its own process ──
const emulatorProcess = spawn(process.execPath, [...tsx, path.join(here, 'emulator.ts')], {
  env: { ...process.env, SOAK_EMULATOR: JSON.stringify({ seed: SEED, faults: FAULTS }) },
  stdio: ['ignore', 'pipe', 'inherit'],
});
// Whatever happens (a crash of this script included), no child outlives the soak.
process.on('exit', () => {
  emulatorProcess.kill('SIGKILL');
  for (const w of workers) w?.kill('SIGKILL');
});
const emulatorInfo = await new Promise<{ graph: string; admin: string }>((resolve, reject) => {
  emulatorProcess.once('exit', (code) => reject(new Error(`emulator exited (${code})`)));
  createInterface({ input: emulatorProcess.stdout! }).once('line', (line) => resolve(JSON.parse(line)));
});

// ── schema and lists, once, before the workers (as a deployment would) ──
const dataSource = new DataSource({
  type: 'postgres',
  url: db.url,
  entities: SOAK_ENTITIES,
  synchronize: true,
});
await dataSource.initialize();
const setup = await SharePointSync.attach(dataSource, {
  site: SITE,
  graph: { baseUrl: emulatorInfo.graph, budget: { resourceUnitsPerMinute: 100_000_000 } },
  writeback: { runWorker: false },
  inbound: { pollIntervalSeconds: 0 },
});
const siteId = setup.context.site.id;
const lists = setup.lists.map((l) => {
  const byProperty = (p: string) => l.fields.find((f) => f.property === p)?.name;
  return {
    entity: l.entityName,
    table: l.tablePath,
    listId: setup.context.listIds.get(l.entityName)!,
    twentyId: l.idField.name,
    name: byProperty('name')!,
    origin: byProperty('origin')!,
    deletedAt: byProperty('deletedAt'),
  };
});
await setup.close();

// The library creates TwentyId as a required column, so SharePoint's own forms (and this person) could not add an
// item without one — against the design, where people add items and the library gives them a TwentyId. The site
// owner makes it optional, as a deployment that lets people add items must today (reported as a finding).
for (const list of lists) {
  const base = `${emulatorInfo.graph}/sites/${siteId}/lists/${list.listId}/columns`;
  const columns = (await (await fetch(base)).json()) as {
    value: { id: string; name: string; required?: boolean }[];
  };
  const column = columns.value.find((c) => c.name === list.twentyId);
  if (column?.required) {
    say(`finding: ${list.entity}.${list.twentyId} is a required column; the site owner makes it optional`);
    const response = await fetch(`${base}/${column.id}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ required: false }),
    });
    if (!response.ok)
      throw new Error(`making ${list.twentyId} optional: ${response.status} ${await response.text()}`);
  }
}

// ── workers ──
const ports = await Promise.all(Array.from({ length: WORKERS }, () => freePort()));
let generation = 0;
async function startWorker(slot: number): Promise<ChildProcess> {
  generation++;
  const child = fork(path.join(here, 'worker.ts'), [], {
    execArgv: tsx,
    env: {
      ...process.env,
      SOAK_WORKER: JSON.stringify({
        slot,
        slots: WORKERS,
        databaseUrl: db.url,
        graphUrl: emulatorInfo.graph,
        seed: SEED * 31 + slot * 1000 + generation,
        history: path.join(dir, `worker-${slot}-${generation}.jsonl`),
        webhookPort: ports[slot],
        reattachSeconds: slot === 0 && REATTACH ? 4 : 0,
        paceMs: 60,
        loops: 2,
      }),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  workers[slot] = child;
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`worker ${slot} exited before ready (${code})`)));
  });
  return child;
}
for (let slot = 0; slot < WORKERS; slot++) await startWorker(slot);
say(`${WORKERS} workers attached (webhooks on ports ${ports.join(', ')}), emulator ${emulatorInfo.graph}`);

// ── the person ──
const personLists: PersonList[] = lists.map((l) => ({
  entity: l.entity,
  listId: l.listId,
  name: l.name,
  origin: l.origin,
}));
const person = new SimulatedPerson(emulatorInfo.graph, siteId, personLists, SEED + 7, mainLog);
const personRun = person.run(250);

// ── chaos ──
const admin = new pg.Pool({ connectionString: db.url, max: 2 });
let chaos = true;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let kills = 0;
let pgKills = 0;
let pgKilledConnections = 0;
const killer = (async () => {
  const slot = WORKERS - 1;
  while (chaos && SIGKILL) {
    await sleep(8000 + rng.int(8000));
    if (!chaos) break;
    const victim = workers[slot]!;
    mainLog({ k: 'kill', slot, pid: victim.pid!, t: Date.now() });
    victim.kill('SIGKILL');
    kills++;
    await new Promise((r) => victim.once('exit', r));
    await sleep(500 + rng.int(1500));
    await startWorker(slot);
  }
})();
const connectionKiller = (async () => {
  while (chaos && PGKILL) {
    await sleep(6000 + rng.int(6000));
    if (!chaos) break;
    // The library's own sessions (the worker lock + LISTEN connection) always; every other round, every
    // connection of the application processes (pool connections in the middle of transactions included).
    const all = pgKills % 2 === 1;
    const result = await admin
      .query(
        all
          ? `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'soak-w%'`
          : `SELECT pg_terminate_backend(l.pid) FROM pg_locks l WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objsubid = 2 AND l.granted`,
        all ? [] : [WORKER_LOCK_CLASS],
      )
      .catch(() => ({ rowCount: 0 }));
    pgKills++;
    pgKilledConnections += result.rowCount ?? 0;
    mainLog({ k: 'pgkill', t: Date.now(), detail: `${all ? 'all' : 'worker locks'}: ${result.rowCount}` });
  }
})();

const progress = setInterval(() => {
  say(`running: person ${person.edits} edits, ${kills} kills, ${pgKills} connection kills`);
}, 15_000);
await sleep(SECONDS * 1000);
clearInterval(progress);

// ── stop the chaos, then everything ──
chaos = false;
say('stopping the chaos');
await Promise.all([killer, connectionKiller]);
person.stop();
await personRun;
await Promise.all(
  workers.map(
    (w, slot) =>
      new Promise<void>((resolve) => {
        if (!w || w.exitCode !== null) return resolve();
        const timer = setTimeout(() => {
          mainLog({ k: 'error', t: Date.now(), detail: `worker ${slot} did not stop in 60 s: killed` });
          w.kill('SIGKILL');
        }, 60_000);
        w.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        w.send('stop');
      }),
  ),
);
say('workers stopped; final pull, flush, pull, verify');

const final = await SharePointSync.attach(dataSource, {
  site: SITE,
  graph: { baseUrl: emulatorInfo.graph, budget: { resourceUnitsPerMinute: 100_000_000 } },
  inbound: { pollIntervalSeconds: 0 },
  writeback: { retryDelayMs: 100, retryAttempts: 10 },
});
const flushErrors: string[] = [];
// The person-side delivery of notifications and the last commits settle within a couple of rounds.
for (let round = 0; round < 3; round++) {
  await final.pull().catch((error) => flushErrors.push(`pull: ${String(error)}`));
  await final
    .flush({ timeoutMs: 120_000 })
    .catch((error) => flushErrors.push(`flush: ${String(error).slice(0, 300)}`));
}
const verify = await final.verify();
const pendingNow = (await final.pending()) as unknown as { total?: number; pending?: number };

// ── final state of both sides ──
async function sharePointItems(list: (typeof lists)[number]): Promise<FinalRecord[]> {
  const out: FinalRecord[] = [];
  let url: string | undefined =
    `${emulatorInfo.graph}/sites/${siteId}/lists/${list.listId}/items?$expand=fields&$top=1000`;
  while (url) {
    const response = await fetch(url);
    const page = (await response.json()) as {
      value: { id: string; fields: Record<string, unknown> }[];
      '@odata.nextLink'?: string;
    };
    for (const item of page.value) {
      const f = item.fields;
      out.push({
        entity: list.entity,
        itemId: item.id,
        twentyId: (f[list.twentyId] as string | undefined) ?? null,
        origin: (f[list.origin] as string | undefined) ?? null,
        name: (f[list.name] as string | undefined) ?? null,
        deleted: list.deletedAt ? !!f[list.deletedAt] : false,
      });
    }
    url = page['@odata.nextLink'];
  }
  return out;
}
const sharePoint = (await Promise.all(lists.map(sharePointItems))).flat();
const postgres: FinalRecord[] = [];
for (const list of lists) {
  const table = list.entity === 'SoakCompany' ? 'soak_company' : 'soak_person';
  const hasDeleted = list.entity === 'SoakCompany';
  const rows = (await dataSource.query(
    `SELECT id, name, origin${hasDeleted ? ', "deletedAt"' : ''} FROM ${table}`,
  )) as { id: string; name: string; origin: string | null; deletedAt?: Date | null }[];
  for (const r of rows)
    postgres.push({
      entity: list.entity,
      twentyId: r.id,
      origin: r.origin,
      name: r.name,
      deleted: !!r.deletedAt,
    });
}
const fieldsOf = (entity: string) => lists.find((l) => l.entity === entity)!;
const conflictRows = (await dataSource.query(
  'SELECT id, entity, twenty_id, policy, reason, local, remote, remote_etag, resolution, detected_at FROM sharepoint_sync.conflicts ORDER BY id',
)) as {
  id: string;
  entity: string;
  twenty_id: string;
  policy: string;
  reason: string;
  local: Record<string, unknown> | null;
  remote: Record<string, unknown> | null;
  remote_etag: string | null;
  resolution: string | null;
  detected_at: Date;
}[];
const conflicts: ConflictRecord[] = conflictRows.map((c) => {
  const f = fieldsOf(c.entity);
  return {
    id: Number(c.id),
    entity: c.entity,
    twentyId: c.twenty_id,
    policy: c.policy,
    reason: c.reason,
    localNull: c.local === null,
    localName: c.local?.[f.name] as string | undefined,
    localOrigin: c.local?.[f.origin] as string | undefined,
    localDeleted: !!(f.deletedAt && c.local?.[f.deletedAt]),
    remoteNull: c.remote === null,
    remoteName: c.remote?.[f.name] as string | undefined,
    remoteOrigin: c.remote?.[f.origin] as string | undefined,
    remoteEtag: c.remote_etag,
    resolution: c.resolution,
    detectedAt: new Date(c.detected_at).getTime(),
  };
});
const deadLetters = (
  (await dataSource.query('SELECT entity, twenty_id, op, error FROM sharepoint_sync.dead_letters')) as {
    entity: string;
    twenty_id: string;
    op: string;
    error: string;
  }[]
).map((d) => ({ entity: d.entity, twentyId: d.twenty_id, op: d.op, error: d.error }));
const pendingRows =
  ((await dataSource.query('SELECT count(*)::int AS n FROM sharepoint_sync.outbox')) as { n: number }[])[0]
    ?.n ?? 0;

const events = readdirSync(dir)
  .filter((f) => f.endsWith('.jsonl'))
  .flatMap((f) => parseHistory(readFileSync(path.join(dir, f), 'utf8')))
  .sort((a, b) => a.t - b.t);
const verifySummary = verify.lists
  .map(
    (l) =>
      `${l.entity}: pg ${l.postgresCount} / sp ${l.sharePointCount}, missing in pg ${l.missingInPostgresCount}, missing in sp ${l.missingInSharePointCount}, differing ${l.differingCount}, without TwentyId ${l.itemsWithoutTwentyId}, pending ${l.pendingLocal}`,
  )
  .join('\n  ');
// Kept beside the history for a post-mortem of any finding.
writeFileSync(
  path.join(dir, 'final.json'),
  JSON.stringify({ conflicts: conflictRows, deadLetters, sharePoint, postgres }, null, 1),
);
const report = check({
  events,
  sharePoint,
  postgres,
  conflicts,
  deadLetters,
  pending: pendingRows,
  verifyOk: verify.ok,
  verifySummary,
  differing: verify.lists.flatMap((l) =>
    l.differing.map((d) => ({ entity: l.entity, twentyId: d.twentyId, fields: d.fields })),
  ),
  relationFields: Object.fromEntries(
    setup.lists.map((l) => [l.entityName, l.fields.filter((f) => f.kind === 'relation').map((f) => f.name)]),
  ),
});
const graphFigures = (await (await fetch(emulatorInfo.admin)).json()) as {
  counters: Record<string, number>;
  byStatus: Record<string, number>;
};
const errors = events.filter((e) => e.k === 'error');

console.log(
  [
    '',
    `── soak report (seed ${SEED}, ${SECONDS} s) ──`,
    formatReport(report),
    `chaos: ${kills} SIGKILLs of a worker, ${pgKills} rounds of pg_terminate_backend (${pgKilledConnections} connections), re-attaches ${events.filter((e) => e.k === 'attached').length - WORKERS - kills}`,
    `person: ${person.edits} edits answered 2xx, ${person.failures} failed calls`,
    `Graph: ${graphFigures.counters.requests} requests (${graphFigures.counters.batchRequests} in $batch), ${graphFigures.counters.faults} faults injected, answers: ${Object.entries(
      graphFigures.byStatus,
    )
      .filter(([k]) => !/ 20[0-4]$/.test(k))
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')}`,
    ...deadLetters
      .slice(0, 5)
      .map((d) => `dead letter ${d.entity} ${d.twentyId} ${d.op}: ${d.error.slice(0, 200)}`),
    `verify: ${verify.ok ? 'clean' : 'DRIFT'}\n  ${verifySummary}`,
    ...verify.lists.flatMap((l) =>
      l.differing
        .slice(0, 3)
        .map((d) => `  differing ${l.entity} ${d.twentyId}: ${JSON.stringify(d.fields).slice(0, 300)}`),
    ),
    ...(flushErrors.length ? [`final flush/pull errors: ${flushErrors.length}: ${flushErrors[0]}`] : []),
    `process errors logged: ${errors.length}${errors.length ? ` (first: ${(errors[0] as { detail?: string }).detail})` : ''}`,
    `pending() at the end: ${JSON.stringify(pendingNow)}`,
  ].join('\n'),
);
if (process.env.SOAK_JSON)
  writeFileSync(
    process.env.SOAK_JSON,
    JSON.stringify(
      {
        seed: SEED,
        seconds: SECONDS,
        chaos: {
          kills,
          pgKills,
          pgKilledConnections,
          reattaches: events.filter((e) => e.k === 'attached').length - WORKERS - kills,
        },
        person: { edits: person.edits, failures: person.failures },
        graph: graphFigures,
        ...report,
      },
      null,
      2,
    ),
  );

await final.close();
await admin.end();
await dataSource.destroy();
emulatorProcess.kill('SIGTERM');
await db.stop().catch(() => {});
const failed =
  report.lost + report.duplicated + report.resurrected + report.falseConflicts + report.diverged > 0 ||
  !report.verifyOk;
say(failed ? 'FAILED' : 'passed');
process.exit(failed ? 1 : 0);
