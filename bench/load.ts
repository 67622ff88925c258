// Load benchmark (not a test): 100,000 SharePoint items from the loopback emulator into PostgreSQL through
// our loader (delta pages, bulk upserts), beside a naive loader (same pages, one repository.save() per row)
// in the same run. Prints items/s, peak RSS growth and the ratio. Then (bench/load-parallel.ts) the cold load
// sequential against parallel ranges on the emulator's latency model, with writes during the load.
//   npm run bench:load   (BENCH_ITEMS, default 100000; BENCH_NAIVE_ITEMS, default 10000; BENCH_PARALLELISM,
//                         default 8; BENCH_LATENCY_MS, default 100; BENCH_LATENCY_PER_ITEM_MS, default 0.2)
// Uses TEST_DATABASE_URL when set, otherwise an embedded PostgreSQL in a temp directory.
import 'reflect-metadata';
import os from 'node:os';
import { Column, DataSource, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { SharePointList, SharePointSync } from '../src/index.js';
import { benchDatabase } from './database.js';
import { compareSequentialAndParallel, fill, spawnEmulator } from './load-parallel.js';

@SharePointList({ title: 'BenchAccounts', priority: 'P1' })
@Entity('bench_account')
class BenchAccount {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 120 }) name!: string;
  @Column({ type: 'text', nullable: true }) notes?: string | null;
  @Column({ type: 'integer', nullable: true }) employees?: number | null;
  @Column({ type: 'double precision', nullable: true }) score?: number | null;
  @Column({ type: 'boolean', default: false }) active!: boolean;
  @Column({ type: 'timestamptz', nullable: true }) signedAt?: Date | null;
}

/** The naive loader's target: same shape, not synced (no capture, no validation). */
@Entity('naive_account')
class NaiveAccount {
  @PrimaryColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 120 }) name!: string;
  @Column({ type: 'text', nullable: true }) notes?: string | null;
  @Column({ type: 'integer', nullable: true }) employees?: number | null;
  @Column({ type: 'double precision', nullable: true }) score?: number | null;
  @Column({ type: 'boolean', default: false }) active!: boolean;
  @Column({ type: 'timestamptz', nullable: true }) signedAt?: Date | null;
}

const ITEMS = Number(process.env.BENCH_ITEMS ?? 100_000);
const NAIVE_ITEMS = Math.min(ITEMS, Number(process.env.BENCH_NAIVE_ITEMS ?? 10_000));
const SITE = 'contoso.sharepoint.com:/sites/bench';
/** Ranges read at once by the parallel cold load of part two (cache.loadParallelism). */
const PARALLELISM = Number(process.env.BENCH_PARALLELISM ?? 8);

/** Samples RSS every 20 ms while `work` runs; returns the peak growth over the starting RSS. */
async function measured<T>(
  work: () => Promise<T>,
): Promise<{ result: T; ms: number; peakRssGrowthMb: number }> {
  globalThis.gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const started = performance.now();
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, ms: performance.now() - started, peakRssGrowthMb: (peak - base) / 1024 / 1024 };
  } finally {
    clearInterval(timer);
  }
}

async function main() {
  const db = await benchDatabase('load');
  const dataSource = new DataSource({
    type: 'postgres',
    url: db.url,
    entities: [BenchAccount, NaiveAccount],
    synchronize: true,
  });
  await dataSource.initialize();
  // The emulator runs in its own process: the RSS and CPU measured here are the library's alone.
  const emulator = await spawnEmulator({
    BENCH_SITES: SITE,
    BENCH_LATENCY_MS: '0',
    BENCH_LATENCY_PER_ITEM_MS: '0',
  });
  const urls = { graph: emulator.graph };
  const requests = new Map<string, number>();
  let phase = 'setup';
  const sync = await SharePointSync.attach(dataSource, {
    site: { hostname: 'contoso.sharepoint.com', path: '/sites/bench' },
    graph: {
      baseUrl: urls.graph,
      budget: { resourceUnitsPerMinute: 100_000_000 },
      onRequest: (e) => requests.set(phase, (requests.get(phase) ?? 0) + (e.inBatch ? 0 : 1)),
    },
    // The sequential path: this part measures the library's own cost (no latency), as before.
    cache: { loadParallelism: 1 },
    writeback: { runWorker: false },
    inbound: { pollIntervalSeconds: 0 },
  });
  process.stdout.write(`filling the emulator with ${ITEMS} items… `);
  await fill(emulator, SITE, sync, ITEMS);
  console.log('done');

  phase = 'ours';
  const ours = await measured(() => sync.ensureLoaded(BenchAccount));
  const oursRequests = requests.get('ours') ?? 0;
  const loaded = ours.result[0]!.loaded;

  // Naive: the same pages (select *), one save() per row — what a first implementation typically does.
  const graph = sync.context.graph;
  const naiveRepo = dataSource.getRepository(NaiveAccount);
  phase = 'naive';
  const naive = await measured(async () => {
    let saved = 0;
    const listId = sync.context.listIds.get('BenchAccount')!;
    for await (const page of graph.pages<{ fields: Record<string, unknown> }>(
      `/sites/${sync.context.site.id}/lists/${listId}/items`,
      { query: { $expand: 'fields', $top: 200 } },
    )) {
      for (const item of page.value) {
        if (saved >= NAIVE_ITEMS) return saved;
        const f = item.fields;
        await naiveRepo.save({
          id: String(f.TwentyId),
          name: String(f.Name),
          notes: (f.Notes as string) ?? null,
          employees: f.Employees == null ? null : Number(f.Employees),
          score: f.Score == null ? null : Number(f.Score),
          active: Boolean(f.Active),
          signedAt: f.SignedAt ? new Date(String(f.SignedAt)) : null,
        });
        saved++;
      }
    }
    return saved;
  });
  const naiveRequests = requests.get('naive') ?? 0;

  const oursRate = loaded / (ours.ms / 1000);
  const naiveRate = naive.result / (naive.ms / 1000);
  const lines = [
    `| loader | items | HTTP requests | wall time | items/s | peak RSS growth |`,
    `| --- | ---: | ---: | ---: | ---: | ---: |`,
    `| ours (delta pages, bulk upsert) | ${loaded} | ${oursRequests} | ${(ours.ms / 1000).toFixed(1)} s | ${Math.round(oursRate)} | ${ours.peakRssGrowthMb.toFixed(0)} MB |`,
    `| naive (save() per row) | ${naive.result} | ${naiveRequests} | ${(naive.ms / 1000).toFixed(1)} s | ${Math.round(naiveRate)} | ${naive.peakRssGrowthMb.toFixed(0)} MB |`,
    '',
    `ratio: ours is ${(oursRate / naiveRate).toFixed(1)}× the naive rate. Targets: ≥ 10,000 items/s, RSS growth ≤ 256 MB, ≥ 10× naive.`,
    `(node ${process.version}, ${os.cpus().length} CPU, ${os.cpus()[0]?.model ?? ''}, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')})`,
  ];
  console.log(lines.join('\n'));
  await sync.close();
  emulator.stop();

  if (process.env.BENCH_PARALLEL === '0') {
    // Part one only (e.g. to compare the library's own cost between commits).
    await dataSource.destroy();
    await db.stop();
    return;
  }
  // Part two: sequential against parallel cold loads on the latency model (its own emulator process).
  const p = await compareSequentialAndParallel(dataSource, ITEMS, PARALLELISM);
  const speedup = p.sequential.ms / p.parallel.ms;
  const d = p.duringLoad;
  console.log(
    [
      '',
      `cold load of ${p.items} items, latency model ${p.perRequestMs} ms per request + ${p.perItemMs} ms per item:`,
      '| cold load | HTTP requests | wall time | items/s | CPU: library | CPU: emulator | CPU: PostgreSQL |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...[
        [`sequential (loadParallelism 1)`, p.sequential] as const,
        [`parallel (loadParallelism ${p.parallelism})`, p.parallel] as const,
      ].map(
        ([name, t]) =>
          `| ${name} | ${t.requests} | ${(t.ms / 1000).toFixed(1)} s | ${Math.round(p.items / (t.ms / 1000))} | ${(t.libraryCpuMs / 1000).toFixed(1)} s | ${(t.emulatorCpuMs / 1000).toFixed(1)} s | ${(t.postgresCpuMs / 1000).toFixed(1)} s |`,
      ),
      '',
      `speed-up ${speedup.toFixed(1)}× (target ≥ 4×); same rows (md5 of the table and sync_state): ${p.sameRows}`,
      `during a parallel load (${(d.ms / 1000).toFixed(1)} s) ${d.created} items created, ${d.updated} updated, ${d.deleted} deleted in SharePoint, in at ${(d.editedAtMs / 1000).toFixed(1)} s:`,
      `  cache equals SharePoint afterwards: ${d.cacheEqualsSharePoint}; the next delta loaded ${d.nextDeltaLoaded} (nothing missed: 0)`,
      `(load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}; the CPU columns are the time each process used during the load)`,
    ].join('\n'),
  );
  const ok =
    speedup >= 4 && p.sameRows && d.cacheEqualsSharePoint && d.nextDeltaLoaded === 0 && d.editedAtMs < d.ms;
  if (!ok) process.exitCode = 1;
  await dataSource.destroy();
  await db.stop();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
