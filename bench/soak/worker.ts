// One application process of the soak: attaches, writes random creates / updates / soft deletes / deletes through
// repositories and QueryBuilder, resolves relations with loaders, polls every second with webhooks on (its own
// http server; the subscription points at it) and, for slot 0, re-attaches every few seconds. Every local write
// is logged before it starts and after it commits (history.ts). Runs until it receives "stop" over IPC.
//   node --import tsx bench/soak/worker.ts      (SOAK_WORKER: JSON, see Config)
import 'reflect-metadata';
import http from 'node:http';
import { DataSource, type Repository } from 'typeorm';
import { SharePointSync } from '../../src/index.js';
import { CLIENT_STATE, SITE, SoakCompany, SoakPerson } from './entities.js';
import { historyWriter, type Op, seeded, type WriteEvent } from './history.js';

interface Config {
  slot: number;
  slots: number;
  databaseUrl: string;
  graphUrl: string;
  seed: number;
  history: string;
  webhookPort: number;
  /** Re-attach every this many seconds (0: never). */
  reattachSeconds: number;
  /** Pause between two operations of one loop, ms (random up to twice this). */
  paceMs: number;
  loops: number;
}

const config = JSON.parse(process.env.SOAK_WORKER ?? '{}') as Config;
const log = historyWriter(config.history);
const rng = seeded(config.seed);
const pid = process.pid;
let seq = 0;
const nextWid = () => `w${config.slot}.${pid}.${++seq}`;

const dataSource = new DataSource({
  type: 'postgres',
  url: config.databaseUrl,
  entities: [SoakCompany, SoakPerson],
  poolSize: 8,
  extra: { application_name: `soak-w${config.slot}` },
});
await dataSource.initialize();
const companies = dataSource.getRepository(SoakCompany);
const people = dataSource.getRepository(SoakPerson);

const attach = async () => {
  log({ k: 'attach', slot: config.slot, pid, t: Date.now() });
  const sync = await SharePointSync.attach(dataSource, {
    site: SITE,
    graph: {
      baseUrl: config.graphUrl,
      budget: { resourceUnitsPerMinute: 100_000_000 },
      retry: { attempts: 5, minDelayMs: 20, maxDelayMs: 500 },
      timeoutMs: 5000,
    },
    inbound: { pollIntervalSeconds: 1 },
    webhooks: { baseUrl: `http://127.0.0.1:${config.webhookPort}`, clientState: CLIENT_STATE },
    writeback: { batchWindowSeconds: 1, retryDelayMs: 100, retryAttempts: 10, pollIntervalMs: 200 },
  });
  log({ k: 'attached', slot: config.slot, pid, t: Date.now() });
  return sync;
};

// The endpoint is up before the subscription is made: Graph validates it while creating the subscription.
let sync: SharePointSync | undefined;
const webhook = http.createServer((req, res) => {
  if (sync) sync.webhooks.handler()(req, res);
  else res.writeHead(503).end();
});
await new Promise<void>((r) => webhook.listen(config.webhookPort, '127.0.0.1', r));
// An application would crash and be restarted when attach fails; here it tries again (and the failure is logged).
for (let attempt = 1; ; attempt++) {
  try {
    sync = await attach();
    await sync.webhooks.ensureSubscriptions();
    break;
  } catch (error) {
    log({
      k: 'error',
      slot: config.slot,
      pid,
      t: Date.now(),
      detail: `attach: ${String(error).slice(0, 300)}`,
    });
    await sync?.close().catch(() => {});
    sync = undefined;
    if (attempt >= 10) throw error;
    await new Promise((r) => setTimeout(r, 200 * attempt));
  }
}

/** Records whose local writes this slot owns: each record is written by one process at a time, in order. */
const mine = `abs(hashtext(coalesce(origin, id::text))) % ${config.slots} = ${config.slot}`;
const busy = new Set<string>();
const deletedIds: string[] = [];

async function pick(entity: 'company' | 'person', alive = true) {
  const table = entity === 'company' ? 'soak_company' : 'soak_person';
  const rows = (await dataSource.query(
    `SELECT id, origin FROM ${table} WHERE ${mine} ${alive && entity === 'company' ? 'AND "deletedAt" IS NULL' : ''} ORDER BY random() LIMIT 3`,
  )) as { id: string; origin: string | null }[];
  return rows.find((r) => r.origin && !busy.has(r.origin));
}

/** Logs intent, runs the write, logs ack (with rows affected) or fail (outcome unknown). */
async function write(
  base: Omit<WriteEvent, 'k' | 't' | 'side' | 'wid'> & { wid?: string },
  run: () => Promise<number>,
) {
  const event = { side: 'local' as const, wid: base.wid ?? nextWid(), ...base };
  busy.add(event.origin);
  log({ ...event, k: 'intent', t: Date.now() });
  try {
    const affected = await run();
    log({ ...event, k: 'ack', t: Date.now(), affected });
  } catch (error) {
    log({ ...event, k: 'fail', t: Date.now(), error: String(error).slice(0, 200) });
  } finally {
    busy.delete(event.origin);
  }
}

const repoOf = (entity: 'company' | 'person'): Repository<SoakCompany | SoakPerson> =>
  (entity === 'company' ? companies : people) as Repository<SoakCompany | SoakPerson>;
const entityName = (entity: 'company' | 'person') => (entity === 'company' ? 'SoakCompany' : 'SoakPerson');

async function operation() {
  const roll = rng.next();
  const entity = rng.chance(0.5) ? 'company' : 'person';
  if (roll < 0.3) {
    const wid = nextWid();
    const op: Op = 'create';
    if (entity === 'company') {
      await write({ wid, entity: 'SoakCompany', origin: wid, op, name: wid, via: 'repository' }, async () => {
        const saved = await companies.save({ name: wid, origin: wid });
        return saved.id ? 1 : 0;
      });
    } else {
      const company = await pick('company');
      await write(
        { wid, entity: 'SoakPerson', origin: wid, op, name: wid, via: 'querybuilder' },
        async () => {
          const result = await people
            .createQueryBuilder()
            .insert()
            .values({ name: wid, origin: wid, company: company ? { id: company.id } : null })
            .execute();
          return result.identifiers.length;
        },
      );
    }
    return;
  }
  if (roll < 0.75) {
    const row = await pick(entity);
    if (!row?.origin) return;
    const wid = nextWid();
    const useQb = rng.chance(0.5);
    await write(
      {
        wid,
        entity: entityName(entity),
        origin: row.origin,
        id: row.id,
        op: 'update',
        name: wid,
        via: useQb ? 'querybuilder' : 'repository',
      },
      async () => {
        if (useQb) {
          const r = await repoOf(entity)
            .createQueryBuilder()
            .update()
            .set({ name: wid })
            .where('id = :id', { id: row.id })
            .execute();
          return r.affected ?? 0;
        }
        const r = await repoOf(entity).update({ id: row.id }, { name: wid });
        return r.affected ?? 0;
      },
    );
    return;
  }
  if (roll < 0.82 && entity === 'company') {
    const row = await pick('company');
    if (!row?.origin) return;
    await write(
      { entity: 'SoakCompany', origin: row.origin, id: row.id, op: 'softDelete', via: 'repository' },
      async () => {
        const r = await companies.softDelete({ id: row.id });
        if ((r.affected ?? 0) > 0) deletedIds.push(row.id);
        return r.affected ?? 0;
      },
    );
    return;
  }
  if (roll < 0.9) {
    const row = await pick(entity, false);
    if (!row?.origin) return;
    const useQb = rng.chance(0.5);
    await write(
      {
        entity: entityName(entity),
        origin: row.origin,
        id: row.id,
        op: 'delete',
        via: useQb ? 'querybuilder' : 'repository',
      },
      async () => {
        const r = useQb
          ? await repoOf(entity).createQueryBuilder().delete().where('id = :id', { id: row.id }).execute()
          : await repoOf(entity).delete({ id: row.id });
        if ((r.affected ?? 0) > 0) deletedIds.push(row.id);
        return r.affected ?? 0;
      },
    );
    return;
  }
  // Relations through loaders, as a request handler would: some live ids, some this process deleted.
  const live = (await dataSource.query(
    'SELECT id FROM soak_company WHERE "deletedAt" IS NULL ORDER BY random() LIMIT 5',
  )) as { id: string }[];
  const recent = deletedIds.slice(-20);
  const ids = [...live.map((r) => r.id), ...recent.filter(() => rng.chance(0.3))];
  const loaders = sync!.loaders();
  log({ k: 'load', slot: config.slot, pid, t: Date.now(), entity: 'SoakCompany', ids });
  await loaders.byId(SoakCompany).loadMany(ids);
  const person = await people.findOne({ where: {}, loadRelationIds: true });
  if (person) await loaders.related(person, 'company');
  const deletedPeople = recent.filter(() => rng.chance(0.3));
  if (deletedPeople.length) {
    log({ k: 'load', slot: config.slot, pid, t: Date.now(), entity: 'SoakPerson', ids: deletedPeople });
    await loaders.byId(SoakPerson).loadMany(deletedPeople);
  }
}

let stopping = false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function loop() {
  while (!stopping) {
    try {
      await operation();
    } catch (error) {
      log({ k: 'error', slot: config.slot, pid, t: Date.now(), detail: String(error).slice(0, 300) });
    }
    await sleep(config.paceMs * rng.next() * 2);
  }
}

async function reattachLoop() {
  while (!stopping) {
    const until = Date.now() + config.reattachSeconds * 1000 * (0.5 + rng.next());
    while (!stopping && Date.now() < until) await sleep(100);
    if (stopping) break;
    try {
      const old = sync;
      await old?.close();
      const next = await attach();
      sync = next;
      await next.webhooks.ensureSubscriptions();
    } catch (error) {
      log({
        k: 'error',
        slot: config.slot,
        pid,
        t: Date.now(),
        detail: `re-attach: ${String(error).slice(0, 300)}`,
      });
      // Keep a working instance: try again on the next round.
      try {
        sync = await attach();
      } catch {}
    }
  }
}

// A connection killed by the soak (pg_terminate_backend) must not end the process.
process.on('unhandledRejection', (error) =>
  log({
    k: 'error',
    slot: config.slot,
    pid,
    t: Date.now(),
    detail: `unhandled: ${String(error).slice(0, 300)}`,
  }),
);
process.on('uncaughtException', (error) =>
  log({
    k: 'error',
    slot: config.slot,
    pid,
    t: Date.now(),
    detail: `uncaught: ${String(error).slice(0, 300)}`,
  }),
);

log({ k: 'start', slot: config.slot, pid, t: Date.now() });
const loops = Array.from({ length: config.loops }, () => loop());
const reattaching = config.reattachSeconds > 0 ? reattachLoop() : Promise.resolve();
process.send?.('ready');

process.on('message', async (message) => {
  if (message !== 'stop') return;
  stopping = true;
  await Promise.all(loops);
  await reattaching;
  await sync?.close().catch(() => {});
  webhook.close();
  await dataSource.destroy().catch(() => {});
  log({ k: 'stop', slot: config.slot, pid, t: Date.now() });
  process.send?.('stopped');
  process.exit(0);
});
