// Scale-out benchmark (not a test): 3 application processes, each with its own writers and write-back worker,
// share one tenant's resource-unit budget; the emulator (its own process) enforces the same budget with 429s.
// Runs the shared budget (issue 19) and, for contrast, the old per-process rolling window, side by side.
//   npm run bench:scale     (BENCH_CHANGES, default 20000; BENCH_BUDGET RU/min, default 3000;
//                            BENCH_PROCESSES, default 3; BENCH_MODES, default "shared,legacy")
// Uses TEST_DATABASE_URL when set (a database of its own per mode), otherwise an embedded PostgreSQL.
import 'reflect-metadata';
import { type ChildProcess, fork, spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { DataSource } from 'typeorm';
import { SharePointSync } from '../src/index.js';
import { benchDatabase } from './database.js';
import { ScaleCompany, SITE } from './scale/entity.js';

const CHANGES = Number(process.env.BENCH_CHANGES ?? 20_000);
const BUDGET = Number(process.env.BENCH_BUDGET ?? 3000);
const PROCESSES = Number(process.env.BENCH_PROCESSES ?? 3);
const MODES = (process.env.BENCH_MODES ?? 'shared,legacy').split(',') as Array<'shared' | 'legacy'>;
const MINUTE = 60_000;
/** A run still not drained after this many minutes stops there and reports what it sent (the old window's run). */
const MAX_MINUTES = Number(process.env.BENCH_MAX_MINUTES ?? 25);

interface Result {
  mode: string;
  wallMs: number;
  perMinute: Array<{ minute: number; ru: number; throttled: number }>;
  peakRollingMinute: number;
  utilisation: number;
  throttled: number;
  deadLetters: number;
  sent: number;
  /** Changes not sent when the run was stopped at BENCH_MAX_MINUTES (0: drained). */
  pendingLeft: number;
}

function log(mode: string, text: string) {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${mode}: ${text}`);
}

async function run(mode: 'shared' | 'legacy'): Promise<Result> {
  const db = await benchDatabase(`scale_${mode}`);
  const emulator = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, 'emulator-process.ts')],
    {
      env: {
        ...process.env,
        BENCH_SITES: `${SITE.hostname}:${SITE.path}`,
        BENCH_RU_PER_MINUTE: String(BUDGET),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const first = await new Promise<string>((resolve) =>
    readline.createInterface({ input: emulator.stdout! }).once('line', resolve),
  );
  const urls = JSON.parse(first) as { graph: string; fill: string };
  const dataSource = new DataSource({
    type: 'postgres',
    url: db.url,
    entities: [ScaleCompany],
    synchronize: true,
  });
  await dataSource.initialize();
  // Bootstrap once (the list and its columns), then the processes attach without bootstrapping.
  const setup = await SharePointSync.attach(dataSource, {
    site: SITE,
    graph: { baseUrl: urls.graph, budget: { resourceUnitsPerMinute: BUDGET, shared: false } },
    writeback: { runWorker: false },
    inbound: { pollIntervalSeconds: 0 },
  });
  await setup.close();

  const started = Date.now();
  const perProcess = Math.ceil(CHANGES / PROCESSES);
  const workers: ChildProcess[] = [];
  const written = new Set<number>();
  const stopped: Array<{ throttled: number; totals: { sent: number } }> = [];
  for (let slot = 0; slot < PROCESSES; slot++) {
    const child = fork(path.join(import.meta.dirname, 'scale', 'worker.ts'), {
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        SCALE_WORKER: JSON.stringify({
          slot,
          databaseUrl: db.url,
          graphUrl: urls.graph,
          changes: Math.min(perProcess, CHANGES - slot * perProcess),
          writers: 4,
          mode,
          budget: BUDGET,
        }),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.on(
      'message',
      (m: { type: string; slot: number; throttled?: number; totals?: { sent: number } }) => {
        if (m.type === 'written') written.add(m.slot);
        if (m.type === 'stopped')
          stopped.push({ throttled: m.throttled ?? 0, totals: m.totals ?? { sent: 0 } });
      },
    );
    workers.push(child);
  }
  let lastReport = Date.now();
  let pendingLeft = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 2000));
    const [row] = await dataSource.query(
      'SELECT (SELECT count(*) FROM sharepoint_sync.outbox)::int AS pending, (SELECT count(*) FROM sharepoint_sync.dead_letters)::int AS dead, (SELECT count(*) FROM scale_company)::int AS written',
    );
    if (Date.now() - lastReport > 30_000) {
      lastReport = Date.now();
      log(mode, `${row.written} written, ${row.pending} pending, ${row.dead} dead letters`);
    }
    if (written.size === PROCESSES && row.pending === 0) break;
    if (Date.now() - started > MAX_MINUTES * MINUTE) {
      log(mode, `stopped after ${MAX_MINUTES} minutes with ${row.pending} changes still pending`);
      pendingLeft = row.pending;
      break;
    }
  }
  const drained = Date.now();
  for (const child of workers) child.send('stop');
  await Promise.all(workers.map((c) => new Promise((r) => c.once('exit', r))));
  const entries = (await (await fetch(`${urls.fill}/log`)).json()) as Array<[number, number, number]>;
  const [dead] = await dataSource.query('SELECT count(*)::int AS n FROM sharepoint_sync.dead_letters');
  emulator.kill('SIGTERM');
  await dataSource.destroy();
  await db.stop();

  // From the processes' first request (their start-up, a few seconds on a loaded machine, is not measured).
  const during = entries.filter(([at]) => at >= started).sort((a, b) => a[0] - b[0]);
  const firstCharge = during[0]?.[0] ?? started;
  const perMinute: Result['perMinute'] = [];
  for (const [at, units, throttled] of during) {
    const minute = Math.floor((at - firstCharge) / MINUTE);
    while (perMinute.length <= minute) perMinute.push({ minute: perMinute.length + 1, ru: 0, throttled: 0 });
    perMinute[minute]!.ru += units;
    perMinute[minute]!.throttled += throttled;
  }
  let peak = 0;
  let sum = 0;
  let left = 0;
  for (let right = 0; right < during.length; right++) {
    sum += during[right]![1];
    while (during[left]![0] <= during[right]![0] - MINUTE) sum -= during[left++]![1];
    peak = Math.max(peak, sum);
  }
  const spent = during.filter(([at]) => at <= drained).reduce((n, [, u]) => n + u, 0);
  return {
    mode,
    wallMs: drained - firstCharge,
    perMinute,
    peakRollingMinute: peak,
    utilisation: spent / (BUDGET * ((drained - firstCharge) / MINUTE)),
    throttled: during.reduce((n, [, , t]) => n + t, 0),
    deadLetters: dead.n,
    sent: stopped.reduce((n, s) => n + s.totals.sent, 0),
    pendingLeft,
  };
}

async function main() {
  console.log(
    `bench:scale — ${PROCESSES} processes, ${CHANGES} changes (creates), one tenant budget of ${BUDGET} RU/min enforced by the emulator; modes: ${MODES.join(', ')}`,
  );
  // Each mode's figures are printed as soon as it ends (the per-process window takes much longer).
  const results = await Promise.all(
    MODES.map((m) =>
      run(m).then((r) => {
        printMinutes(r);
        return r;
      }),
    ),
  );
  console.log(
    '\n| limiter | wall time | RU peak per rolling minute | peak / budget | utilisation while a backlog exists | 429s | dead letters | records sent |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    console.log(
      `| ${r.mode === 'shared' ? 'shared budget (token bucket, ledger)' : 'per-process rolling window (before)'} | ${(r.wallMs / 1000).toFixed(0)} s | ${r.peakRollingMinute} | ${((100 * r.peakRollingMinute) / BUDGET).toFixed(1)} % | ${(100 * r.utilisation).toFixed(1)} % | ${r.throttled} | ${r.deadLetters} | ${r.sent} |`,
    );
  }
  console.log(`\nJSON ${JSON.stringify(results)}`);
}

function printMinutes(r: Result) {
  console.log(
    `\n${r.mode}: ${(r.wallMs / 1000).toFixed(0)} s, peak ${r.peakRollingMinute} RU per rolling minute (${((100 * r.peakRollingMinute) / BUDGET).toFixed(1)} % of ${BUDGET}), utilisation ${(100 * r.utilisation).toFixed(1)} %, ${r.throttled} 429s, ${r.deadLetters} dead letters, ${r.sent} sent, ${r.pendingLeft} left unsent`,
  );
  console.log('RU and 429s per minute (all processes, as the emulator charged them)');
  console.log(`| minute | ${r.perMinute.map((m) => m.minute).join(' | ')} |`);
  console.log(`| --- | ${r.perMinute.map(() => '---:').join(' | ')} |`);
  console.log(`| RU | ${r.perMinute.map((m) => m.ru).join(' | ')} |`);
  console.log(`| 429s | ${r.perMinute.map((m) => m.throttled).join(' | ')} |`);
}

await main();
