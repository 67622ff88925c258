// bench:load's second part: the cold load of one list, sequential (cache.loadParallelism 1) against parallel
// ranges of item ids, on the emulator's latency model (default 100 ms per request + 0.2 ms per item returned,
// BENCH_LATENCY_MS / BENCH_LATENCY_PER_ITEM_MS). Checks: the same rows (md5 of the table and of sync_state),
// and a parallel load during which a person creates, updates and deletes items ends with the cache equal to
// SharePoint — nothing written during the load is missed — and the next delta has nothing left to bring.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { DataSource } from 'typeorm';
import { type LoadResult, SharePointSync } from '../src/index.js';
import { rowToFields } from '../src/schema/index.js';

export interface EmulatorProcess {
  graph: string;
  fill: string;
  stop(): void;
}

/** The emulator in its own process (bench/emulator-process.ts) with these extra environment variables. */
export async function spawnEmulator(env: Record<string, string>): Promise<EmulatorProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, 'emulator-process.ts')],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const first = await new Promise<string>((resolve) =>
    readline.createInterface({ input: child.stdout! }).once('line', resolve),
  );
  const urls = JSON.parse(first) as { graph: string; fill: string };
  return { ...urls, stop: () => child.kill('SIGTERM') };
}

/** The fields of bench item `i` (the same shape for both parts of bench:load). */
export function benchFields(sync: SharePointSync, entity: string, i: number): Record<string, unknown> {
  const list = sync.lists.find((l) => l.entityName === entity)!;
  return rowToFields(list, {
    id: randomUUID(),
    name: `Account ${i}`,
    notes: i % 3 === 0 ? `Notes for account ${i}, a little longer than the name.` : null,
    employees: i % 1000,
    score: i / 7,
    active: i % 2 === 0,
    signedAt: new Date(Date.UTC(2024, 0, 1) + i * 60_000),
  });
}

/** Adds `count` items to the emulator's list through its backdoor, 10,000 per call. */
export async function fill(emulator: EmulatorProcess, site: string, sync: SharePointSync, count: number) {
  for (let start = 0; start < count; start += 10_000) {
    const items = [];
    for (let i = start; i < Math.min(count, start + 10_000); i++)
      items.push(benchFields(sync, 'BenchAccount', i));
    await post(emulator, '', { site, list: 'BenchAccounts', items });
  }
}

async function post(emulator: EmulatorProcess, route: string, body: unknown): Promise<void> {
  const r = await fetch(`${emulator.fill}${route}`, { method: 'POST', body: JSON.stringify(body) });
  if (!r.ok) throw new Error(await r.text());
}

async function tablesHash(dataSource: DataSource): Promise<string> {
  const [row] = await dataSource.query(`
    SELECT md5(
      (SELECT string_agg(b::text, '|' ORDER BY b.id) FROM bench_account b) || '#' ||
      (SELECT string_agg(concat_ws(',', twenty_id, item_id, etag, content_hash), '|' ORDER BY twenty_id)
         FROM sharepoint_sync.sync_state WHERE entity = 'BenchAccount')) AS h`);
  return row.h;
}

/** Wall time, HTTP requests, and the CPU time of this process (library) and of the emulator's process. */
interface Timed {
  ms: number;
  requests: number;
  libraryCpuMs: number;
  emulatorCpuMs: number;
  /** CPU of the PostgreSQL backends serving this database (Linux /proc; NaN where it cannot be read). */
  postgresCpuMs: number;
}

/** CPU time (ms) of each PostgreSQL backend connected to this database, by pid, from /proc (same host only). */
async function postgresCpuMs(dataSource: DataSource): Promise<Map<number, number>> {
  const rows = (await dataSource.query(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database()',
  )) as { pid: number }[];
  const tick = 10; // ms per clock tick (USER_HZ 100 on Linux)
  const out = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, (Number(fields[11]) + Number(fields[12])) * tick);
    } catch {
      // Another host (or no /proc): not measured.
    }
  }
  return out;
}

/** CPU the backends used between two readings (a backend that started meanwhile counts from zero). */
function postgresCpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  if (after.size === 0) return Number.NaN;
  let sum = 0;
  for (const [pid, ms] of after) sum += ms - (before.get(pid) ?? 0);
  return sum;
}

export interface ParallelFigures {
  items: number;
  parallelism: number;
  perRequestMs: number;
  perItemMs: number;
  sequential: Timed;
  parallel: Timed;
  sameRows: boolean;
  duringLoad: {
    ms: number;
    /** When the edits were in SharePoint, from the start of the load (before `ms`: during it). */
    editedAtMs: number;
    created: number;
    updated: number;
    deleted: number;
    cacheEqualsSharePoint: boolean;
    nextDeltaLoaded: number;
  };
}

/** Runs the comparison on its own emulator (with the latency model), in `dataSource` (BenchAccount's table). */
export async function compareSequentialAndParallel(
  dataSource: DataSource,
  items: number,
  parallelism: number,
): Promise<ParallelFigures> {
  const perRequestMs = Number(process.env.BENCH_LATENCY_MS ?? 100);
  const perItemMs = Number(process.env.BENCH_LATENCY_PER_ITEM_MS ?? 0.2);
  const site = 'contoso.sharepoint.com:/sites/bench';
  const emulator = await spawnEmulator({
    BENCH_SITES: site,
    BENCH_LATENCY_MS: String(perRequestMs),
    BENCH_LATENCY_PER_ITEM_MS: String(perItemMs),
  });
  let requests = 0;
  const attach = (loadParallelism: number) =>
    SharePointSync.attach(dataSource, {
      site: { hostname: 'contoso.sharepoint.com', path: '/sites/bench' },
      graph: {
        baseUrl: emulator.graph,
        budget: { resourceUnitsPerMinute: 100_000_000 },
        onRequest: (e) => {
          if (!e.inBatch) requests++;
        },
      },
      cache: { loadParallelism },
      writeback: { runWorker: false },
      inbound: { pollIntervalSeconds: 0 },
    });
  try {
    let sync = await attach(1);
    process.stdout.write(`filling the latency emulator with ${items} items… `);
    await fill(emulator, site, sync, items);
    console.log('done');
    const emulatorCpuMs = async () =>
      ((await (await fetch(`${emulator.fill}/cpu`)).json()) as { ms: number }).ms;
    const timed = async (work: () => Promise<LoadResult[]>) => {
      requests = 0;
      const cpu = process.cpuUsage();
      const emulatorCpu = await emulatorCpuMs();
      const postgresBefore = await postgresCpuMs(dataSource);
      const started = performance.now();
      const results = await work();
      const ms = performance.now() - started;
      if (process.env.BENCH_DEBUG) console.log(results.map((r) => r.durationMs));
      const used = process.cpuUsage(cpu);
      return {
        ms,
        requests,
        libraryCpuMs: (used.user + used.system) / 1000,
        emulatorCpuMs: (await emulatorCpuMs()) - emulatorCpu,
        postgresCpuMs: postgresCpuDelta(postgresBefore, await postgresCpuMs(dataSource)),
      };
    };
    process.stdout.write('sequential cold load… ');
    const sequential = await timed(() => sync.rebuild());
    const sequentialHash = await tablesHash(dataSource);
    console.log(`${(sequential.ms / 1000).toFixed(1)} s`);
    await sync.close();

    sync = await attach(parallelism);
    process.stdout.write(`parallel cold load (${parallelism})… `);
    const parallel = await timed(() => sync.rebuild());
    const sameRows = (await tablesHash(dataSource)) === sequentialHash;
    console.log(`${(parallel.ms / 1000).toFixed(1)} s, same rows: ${sameRows}`);

    // Again, while a person edits SharePoint: as soon as the first page is written, 200 items are created,
    // 200 updated and 100 deleted, spread over the whole id range (read and not yet read ranges).
    const total = items;
    const edits = {
      create: Array.from({ length: 200 }, (_, i) => benchFields(sync, 'BenchAccount', total + i)),
      update: Array.from({ length: 200 }, (_, i) => ({
        index: Math.floor(((i + 0.5) * total) / 200),
        fields: { Name: `edited during the load ${i}` },
      })),
      delete: Array.from({ length: 100 }, (_, i) => Math.floor(((i + 0.1) * total) / 100)),
    };
    let edited: Promise<void> | undefined;
    let editedAtMs = Number.NaN;
    const started = performance.now();
    const off = sync.on((e) => {
      if (!edited && e.type === 'load.progress' && e.loaded > 0)
        edited = post(emulator, '', { site, list: 'BenchAccounts', ...edits }).then(() => {
          editedAtMs = performance.now() - started;
        });
    });
    process.stdout.write('parallel cold load with edits during it… ');
    const during = await timed(() => sync.rebuild());
    off();
    await edited;
    const dump = (await (
      await fetch(`${emulator.fill}/dump?site=${encodeURIComponent(site)}&list=BenchAccounts`)
    ).json()) as [string, string][];
    const rows = (await dataSource.query('SELECT id, name FROM bench_account')) as {
      id: string;
      name: string;
    }[];
    const cached = new Map(rows.map((r) => [r.id, r.name]));
    const equal = dump.length === cached.size && dump.every(([id, name]) => cached.get(id) === name);
    const next = await sync.refresh('BenchAccount');
    console.log(`${(during.ms / 1000).toFixed(1)} s, cache equals SharePoint: ${equal}`);
    await sync.close();
    return {
      items,
      parallelism,
      perRequestMs,
      perItemMs,
      sequential,
      parallel,
      sameRows,
      duringLoad: {
        ms: during.ms,
        created: edits.create.length,
        updated: edits.update.length,
        deleted: edits.delete.length,
        cacheEqualsSharePoint: equal,
        nextDeltaLoaded: next.loaded,
        editedAtMs,
      },
    };
  } finally {
    emulator.stop();
  }
}
