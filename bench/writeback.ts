// Write-back benchmark (not a test): our outbox pipeline vs a naive per-record client, same run, same
// loopback emulator with a fixed latency per HTTP call.
//   npm run bench:writeback            (BENCH_SCALE=0.1 for a quick run; BENCH_LATENCY_MS, default 5)
// Uses TEST_DATABASE_URL when set, otherwise an embedded PostgreSQL in a temp directory.
import 'reflect-metadata';
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { odataString } from '../src/graph/index.js';
import { readListSchemas, rowToFields, SharePointList } from '../src/schema/index.js';
import { assembleContext } from '../src/sync/assemble.js';
import { createEmulator } from '../src/testing/index.js';
import { Writeback } from '../src/writeback/index.js';
import { benchDatabase } from './database.js';

@SharePointList({ title: 'BenchCompanies', priority: 'P1' })
@Entity('bench_company')
class BenchCompany {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 255 }) name!: string;
  @Column({ type: 'int', nullable: true }) employees?: number | null;
}

/** Same shape, not synced: the plain TypeORM save() the outbox is compared with. */
@Entity('plain_company')
class PlainCompany {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 255 }) name!: string;
  @Column({ type: 'int', nullable: true }) employees?: number | null;
}

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 5);
const CREATES = Math.round(10_000 * SCALE);
const HOT = Math.round(1_000 * SCALE);
const UPDATES = Math.round(10_000 * SCALE);
const DELETES = Math.round(1_000 * SCALE);
const SAVES = Math.round(2_000 * Math.max(SCALE, 0.25));
const NAIVE_CONCURRENCY = 8;
const SITE = 'contoso.sharepoint.com:/sites/crm';

interface Row {
  name: string;
  roundTrips: number;
  resourceUnits: number;
  wallMs: number;
  records: number;
}

async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

async function main() {
  const pg = await benchDatabase('writeback');
  const dataSource = new DataSource({
    type: 'postgres',
    url: pg.url,
    entities: [BenchCompany, PlainCompany],
    synchronize: true,
    dropSchema: true,
    poolSize: 20,
  });
  await dataSource.initialize();
  await dataSource.query('DROP SCHEMA IF EXISTS sharepoint_sync CASCADE');
  const emulator = createEmulator({ sites: [SITE], latencyMs: LATENCY_MS, shuffleBatchResponses: true });
  const server = await emulator.listen();
  const list = readListSchemas(dataSource)[0]!;
  const site = emulator.site(SITE);
  const columns = [list.idField.definition, ...list.fields.map((f) => f.definition)] as Record<
    string,
    unknown
  >[];
  const ours = site.createList({ displayName: 'BenchCompanies', columns });
  const naive = site.createList({ displayName: 'NaiveCompanies', columns });
  // Wired as attach wires it (the lists exist, so nothing is bootstrapped); the write-back is driven here.
  const { context: ctx, metrics } = await assembleContext(dataSource, {
    site: { hostname: 'contoso.sharepoint.com', path: '/sites/crm' },
    graph: { baseUrl: `${server.url}/v1.0`, budget: { resourceUnitsPerMinute: 1e9, shared: false } },
    bootstrap: { onAttach: false },
  });
  if (ctx.listIds.get(list.entityName) !== ours.id)
    throw new Error('bench: the assembler did not find BenchCompanies');
  const graph = ctx.graph;
  const writeback = new Writeback(ctx, {
    enabled: true,
    batchSize: 20,
    retryAttempts: 5,
    retryDelayMs: 200,
    batchWindowSeconds: 10,
    pollIntervalMs: 100,
    concurrency: 4,
  });
  await writeback.install();
  const repo = dataSource.getRepository(BenchCompany);
  const plain = dataSource.getRepository(PlainCompany);

  // ── app-side cost of save(): outbox (trigger + validation) vs plain TypeORM, interleaved blocks ──
  let outboxMs = 0;
  let plainMs = 0;
  for (let block = 0; block < 10; block++) {
    const n = Math.round(SAVES / 10);
    let t = performance.now();
    for (let i = 0; i < n; i++) await plain.save({ name: `plain ${block}-${i}`, employees: i });
    plainMs += performance.now() - t;
    t = performance.now();
    for (let i = 0; i < n; i++) await repo.save({ name: `warm ${block}-${i}`, employees: i });
    outboxMs += performance.now() - t;
  }
  await dataSource.query('DELETE FROM bench_company');
  await dataSource.query('DELETE FROM sharepoint_sync.outbox');

  const measure = async (name: string, records: number, work: () => Promise<void>): Promise<Row> => {
    emulator.log.reset();
    const started = performance.now();
    await work();
    const c = emulator.log.counters();
    return {
      name,
      records,
      roundTrips: c.requests,
      resourceUnits: c.resourceUnits,
      wallMs: performance.now() - started,
    };
  };
  const rows: Row[] = [];

  // ── ours ──
  const names = Array.from({ length: CREATES }, (_, i) => ({ name: `company ${i}`, employees: i }));
  const created: BenchCompany[] = [];
  for (let i = 0; i < names.length; i += 500) created.push(...(await repo.save(names.slice(i, i + 500))));
  rows.push(await measure('ours: create', CREATES, () => writeback.flush().then(() => {})));
  const hot = created.slice(0, HOT);
  writeback.start();
  let patches = 0;
  rows.push(
    await measure('ours: update (hot)', UPDATES, async () => {
      // The application keeps updating its hot records while the worker runs with the default 10 s P1 window.
      for (let round = 0; round < UPDATES / HOT; round++) {
        await pool(hot, 8, (c) => repo.update({ id: c.id }, { employees: round * 1000 + 1 }).then(() => {}));
      }
      await writeback.flush();
      patches = emulator.log.entries.filter((e) => e.method === 'PATCH').length;
    }),
  );
  await writeback.stop();
  const doomed = created.slice(HOT, HOT + DELETES);
  await repo.delete(doomed.map((c) => c.id));
  rows.push(await measure('ours: delete', DELETES, () => writeback.flush().then(() => {})));

  // ── naive: per-record POST; update = lookup by TwentyId + PATCH; delete = lookup + DELETE ──
  const items = `/sites/${site.id}/lists/${naive.id}/items`;
  const naiveRows = names.map((n, i) => ({ id: created[i]!.id, ...n }));
  const lookup = async (id: string) =>
    (
      await graph.get<{ value: { id: string }[] }>(items, {
        query: { $filter: `fields/${list.idField.name} eq ${odataString(id)}`, $select: 'id' },
      })
    ).value[0]!.id;
  rows.push(
    await measure('naive: create', CREATES, () =>
      pool(naiveRows, NAIVE_CONCURRENCY, async (r) => {
        await graph.post(items, {
          fields: rowToFields(list, { id: r.id, name: r.name, employees: r.employees }),
        });
      }),
    ),
  );
  const employees = list.fields.find((f) => f.property === 'employees')!.name;
  const updates = Array.from({ length: UPDATES }, (_, i) => ({ id: naiveRows[i % HOT]!.id, value: i }));
  rows.push(
    await measure('naive: update (hot)', UPDATES, () =>
      pool(updates, NAIVE_CONCURRENCY, async (u) => {
        await graph.patch(`${items}/${await lookup(u.id)}/fields`, { [employees]: u.value });
      }),
    ),
  );
  rows.push(
    await measure('naive: delete', DELETES, () =>
      pool(naiveRows.slice(HOT, HOT + DELETES), NAIVE_CONCURRENCY, async (r) => {
        await graph.delete(`${items}/${await lookup(r.id)}`);
      }),
    ),
  );

  // ── report ──
  const total = (prefix: string): Row => {
    const sum: Row = { name: `${prefix} total`, roundTrips: 0, resourceUnits: 0, wallMs: 0, records: 0 };
    for (const r of rows.filter((row) => row.name.startsWith(prefix))) {
      sum.roundTrips += r.roundTrips;
      sum.resourceUnits += r.resourceUnits;
      sum.wallMs += r.wallMs;
      sum.records += r.records;
    }
    return sum;
  };
  const oursTotal = total('ours');
  const naiveTotal = total('naive');
  const table = [...rows, oursTotal, naiveTotal];
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  const lines = [
    `Write-back benchmark — ${CREATES} creates, ${UPDATES} updates over ${HOT} hot records, ${DELETES} deletes; ` +
      `emulator latency ${LATENCY_MS} ms per HTTP call; ${new Date().toISOString().slice(0, 10)}`,
    '',
    '| run | HTTP round trips | resource units | wall time (s) | records/s |',
    '|---|---:|---:|---:|---:|',
    ...table.map(
      (r) =>
        `| ${r.name} |${pad(r.roundTrips, 8)} |${pad(r.resourceUnits, 8)} |${pad((r.wallMs / 1000).toFixed(2), 8)} |${pad(Math.round(r.records / (r.wallMs / 1000)), 8)} |`,
    ),
    '',
  ];
  const oursUpdate = rows.find((r) => r.name === 'ours: update (hot)')!;
  const naiveUpdate = rows.find((r) => r.name === 'naive: update (hot)')!;
  const targets = [
    [
      'round trips, ours / naive',
      oursTotal.roundTrips / naiveTotal.roundTrips,
      '≤ 1/15 (0.067)',
      oursTotal.roundTrips / naiveTotal.roundTrips <= 1 / 15,
    ],
    [
      'RU per update, ours / naive',
      oursUpdate.resourceUnits / naiveUpdate.resourceUnits,
      '≤ 0.5',
      oursUpdate.resourceUnits / naiveUpdate.resourceUnits <= 0.5,
    ],
    [
      'hot-record updates per PATCH',
      UPDATES / Math.max(1, patches),
      '≥ 5',
      UPDATES / Math.max(1, patches) >= 5,
    ],
    ['save() with outbox / plain save()', outboxMs / plainMs, '≤ 1.3', outboxMs / plainMs <= 1.3],
    ['wall time, naive / ours', naiveTotal.wallMs / oursTotal.wallMs, '(speed-up)', true],
  ] as const;
  lines.push('| ratio | measured | target | met |', '|---|---:|---|---|');
  for (const [name, value, target, met] of targets)
    lines.push(`| ${name} | ${value.toFixed(3)} | ${target} | ${met ? 'yes' : 'NO'} |`);
  lines.push(
    '',
    `save(): ${SAVES} each, outbox ${(outboxMs / SAVES).toFixed(3)} ms, plain ${(plainMs / SAVES).toFixed(3)} ms per save.`,
  );
  console.log(lines.join('\n'));

  metrics.close();
  await dataSource.destroy();
  await emulator.close();
  await pg.stop();
  process.exit(targets.every((t) => t[3]) ? 0 : 1);
}

await main();
