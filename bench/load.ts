// Load benchmark (not a test): 100,000 SharePoint items from the loopback emulator into PostgreSQL through
// our loader (delta pages, bulk upserts), beside a naive loader (same pages, one repository.save() per row)
// in the same run. Prints items/s, peak RSS growth and the ratio.
//   npm run bench:load          (BENCH_ITEMS, default 100000; BENCH_NAIVE_ITEMS, default 10000)
// Uses TEST_DATABASE_URL when set, otherwise an embedded PostgreSQL in a temp directory.
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Column, DataSource, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { SharePointList, SharePointSync } from '../src/index.js';
import { rowToFields } from '../src/schema/index.js';
import { benchDatabase } from './database.js';

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
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, 'emulator-process.ts')],
    {
      env: { ...process.env, BENCH_SITES: SITE },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const first = await new Promise<string>((resolve) =>
    readline.createInterface({ input: child.stdout! }).once('line', resolve),
  );
  const urls = JSON.parse(first) as { graph: string; fill: string };
  const requests = new Map<string, number>();
  let phase = 'setup';
  const sync = await SharePointSync.attach(dataSource, {
    site: { hostname: 'contoso.sharepoint.com', path: '/sites/bench' },
    graph: {
      baseUrl: urls.graph,
      budget: { resourceUnitsPerMinute: 100_000_000 },
      onRequest: (e) => requests.set(phase, (requests.get(phase) ?? 0) + (e.inBatch ? 0 : 1)),
    },
    writeback: { runWorker: false },
    inbound: { pollIntervalSeconds: 0 },
  });
  const list = sync.lists.find((l) => l.entityName === 'BenchAccount')!;
  process.stdout.write(`filling the emulator with ${ITEMS} items… `);
  for (let start = 0; start < ITEMS; start += 10_000) {
    const items = [];
    for (let i = start; i < Math.min(ITEMS, start + 10_000); i++) {
      items.push(
        rowToFields(list, {
          id: randomUUID(),
          name: `Account ${i}`,
          notes: i % 3 === 0 ? `Notes for account ${i}, a little longer than the name.` : null,
          employees: i % 1000,
          score: i / 7,
          active: i % 2 === 0,
          signedAt: new Date(Date.UTC(2024, 0, 1) + i * 60_000),
        }),
      );
    }
    const r = await fetch(urls.fill, {
      method: 'POST',
      body: JSON.stringify({ site: SITE, list: 'BenchAccounts', items }),
    });
    if (!r.ok) throw new Error(await r.text());
  }
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
    `(node ${process.version}, ${os.cpus().length} CPU, ${os.cpus()[0]?.model ?? ''})`,
  ];
  console.log(lines.join('\n'));
  await sync.close();
  await dataSource.destroy();
  child.kill('SIGTERM');
  await db.stop();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
