import type { Cache, VerifyReport } from '../cache/index.js';
import type { SyncContext } from '../context.js';
import { UsageError } from '../errors/index.js';
import type { ProvisioningPlan } from '../provision/index.js';
import { type ListSchema, quoteTablePath, rowIdSql } from '../schema/index.js';
import { execute, rows } from '../store/db.js';
import * as sql from '../store/sql.js';
import type { Writeback } from '../writeback/index.js';

/** Options of `sync.migrate()` / `typeorm-sharepoint migrate`. */
export interface MigrationOptions {
  /** Count rows and show the bootstrap plan; change nothing anywhere. Default false. */
  dryRun?: boolean;
  /** Entities to migrate (names or classes). Default: every synced entity. */
  entities?: (Function | string)[];
  /** Called about twice a second while rows are being sent. */
  onProgress?: (progress: MigrationProgress) => void;
  /** Give up waiting for the outbox after this long (the rows stay queued; re-run to continue). Default 6 h. */
  timeoutMs?: number;
  /** Compare PostgreSQL with SharePoint at the end. Default true. */
  verify?: boolean;
}

export interface MigrationProgress {
  /** Records sent so far in this run. */
  done: number;
  /** Records queued for this run (including ones queued by an interrupted earlier run). */
  total: number;
  /** Records per second since the run started sending. */
  ratePerSecond: number;
  /** Seconds until done at the current rate; undefined until a rate is known. */
  etaSeconds?: number;
}

export interface MigrationListReport {
  entity: string;
  title: string;
  /** Rows in PostgreSQL. */
  rows: number;
  /** Rows SharePoint already held before this run (from an earlier, interrupted run or the app itself). */
  alreadyInSharePoint: number;
  /** Rows queued by this run. */
  queued: number;
}

export interface MigrationReport {
  dryRun: boolean;
  plan: ProvisioningPlan;
  lists: MigrationListReport[];
  /** Records sent to SharePoint by this run. */
  sent: number;
  durationMs: number;
  /** Present unless `verify: false` or a dry run. `verify.ok` means both sides agree. */
  verify?: VerifyReport;
}

interface MigrationParts {
  ctx: SyncContext;
  writeback: Writeback;
  cache: Cache;
  plan(): Promise<ProvisioningPlan>;
  bootstrap(): Promise<unknown>;
}

/**
 * Existing PostgreSQL data → SharePoint, through the write-back outbox (decision: one mechanism for every
 * write). Every row SharePoint does not hold yet is queued in one statement per table, then the outbox is
 * drained in `$batch` calls with the gateway's pacing. Resumable by construction: the queue is durable, rows
 * already created have their item id in `sync_state` and are not queued again, and a create whose answer was
 * lost when the process died is adopted on retry (idempotent create by TwentyId) — never duplicated.
 */
export async function migrateExistingRows(
  parts: MigrationParts,
  options: MigrationOptions = {},
): Promise<MigrationReport> {
  const started = Date.now();
  const { ctx } = parts;
  const lists = selectLists(ctx.lists, options.entities);
  const plan = await parts.plan();
  const report: MigrationReport = {
    dryRun: options.dryRun === true,
    plan,
    lists: [],
    sent: 0,
    durationMs: 0,
  };

  if (!options.dryRun) await parts.bootstrap();
  report.lists.push(...(await queueLists(ctx, lists, options.dryRun === true)));
  if (options.dryRun) {
    report.durationMs = Date.now() - started;
    return report;
  }

  report.sent = await drainWithProgress(parts, lists, options);
  if (options.verify !== false) report.verify = await parts.cache.verify(lists.map((l) => l.target));
  report.durationMs = Date.now() - started;
  return report;
}

/** The lists `entities` names (all of them without it); a name that is not a synced entity is a usage error. */
function selectLists(all: ListSchema[], entities: MigrationOptions['entities']): ListSchema[] {
  const wanted = entities?.length
    ? new Set(
        entities.map((e) =>
          typeof e === 'string' ? e : (all.find((l) => l.target === e)?.entityName ?? e.name),
        ),
      )
    : undefined;
  const lists = all.filter((l) => !wanted || wanted.has(l.entityName));
  if (wanted) {
    for (const name of wanted) {
      if (!lists.some((l) => l.entityName === name)) {
        throw new UsageError(`typeorm-sharepoint: migrate: ${name} is not a SharePoint-synced entity.`);
      }
    }
  }
  return lists;
}

/** Counts each list's rows and (unless a dry run) queues those SharePoint does not hold yet. */
async function queueLists(
  ctx: SyncContext,
  lists: ListSchema[],
  dryRun: boolean,
): Promise<MigrationListReport[]> {
  const out: MigrationListReport[] = [];
  for (const list of lists) {
    const table = quoteTablePath(list.tablePath);
    const idSql = rowIdSql(list, 'e');
    const [counts] = await rows<{ rows: number; in_share_point: number }>(
      ctx.dataSource,
      sql.migrationCounts(ctx.schema, table, idSql),
      [list.entityName],
    );
    let queued = 0;
    if (!dryRun) {
      // Priority 0: an operator asked for this now; P3's daily window must not hold a migration back.
      const result = await execute(ctx.dataSource, sql.enqueueUnsyncedRows(ctx.schema, table, idSql), [
        list.entityName,
        0,
      ]);
      queued = result.affected ?? 0;
    }
    out.push({
      entity: list.entityName,
      title: list.title,
      rows: counts?.rows ?? 0,
      alreadyInSharePoint: counts?.in_share_point ?? 0,
      queued,
    });
  }
  return out;
}

/** Drains the outbox for these lists, reporting progress every 500 ms; returns how many were sent. */
async function drainWithProgress(
  parts: MigrationParts,
  lists: ListSchema[],
  options: MigrationOptions,
): Promise<number> {
  const { ctx } = parts;
  const entities = lists.map((l) => l.entityName);
  const outstanding = async () =>
    (await rows<{ n: number }>(ctx.dataSource, sql.outboxSizeFor(ctx.schema), [entities]))[0]?.n ?? 0;
  const total = await outstanding();
  const sendStart = Date.now();
  let done = false;
  const progress = async () => {
    const left = await outstanding();
    const sent = Math.max(0, total - left);
    const seconds = (Date.now() - sendStart) / 1000;
    const rate = seconds > 0 ? sent / seconds : 0;
    options.onProgress?.({
      done: sent,
      total,
      ratePerSecond: Math.round(rate * 10) / 10,
      ...(rate > 0 ? { etaSeconds: Math.round(left / rate) } : {}),
    });
  };
  const ticker = (async () => {
    while (!done) {
      await new Promise((r) => setTimeout(r, 500));
      if (!done) await progress().catch(() => undefined);
    }
  })();
  let sent: number;
  try {
    const flushed = await parts.writeback.flush({ timeoutMs: options.timeoutMs ?? 6 * 3600_000 });
    sent = flushed.sent;
  } finally {
    done = true;
    await ticker;
  }
  await progress();
  return sent;
}

/** Human-readable migration report (the CLI's output without `--json`). */
export function formatMigrationReport(report: MigrationReport): string {
  const lines = [report.dryRun ? 'Migration plan (dry run, nothing changed):' : 'Migration report:'];
  for (const l of report.lists) {
    lines.push(
      `  ${l.entity} → "${l.title}": ${l.rows} row(s), ${l.alreadyInSharePoint} already in SharePoint` +
        (report.dryRun ? `, ${l.rows - l.alreadyInSharePoint} to send` : `, ${l.queued} queued by this run`),
    );
  }
  if (!report.dryRun) {
    lines.push(`  sent: ${report.sent} in ${(report.durationMs / 1000).toFixed(1)} s`);
    if (report.verify) {
      lines.push(
        report.verify.ok
          ? '  verify: PostgreSQL and SharePoint agree (zero drift).'
          : '  verify: PostgreSQL and SharePoint differ; run `typeorm-sharepoint verify` for details.',
      );
    }
  }
  return lines.join('\n');
}
