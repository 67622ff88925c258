import type { QueryRunner } from 'typeorm';
import type { SyncContext } from '../context.js';
import { ListNotProvisionedError } from '../errors/index.js';
import { expandFields, graphPath } from '../graph/index.js';
import {
  canonicalFromItem,
  canonicalFromRow,
  contentHash,
  type GraphListItem,
  type ListSchema,
  quoteTablePath,
  rowIdSql,
  selectClause,
  stableFieldsJson,
} from '../schema/index.js';
import { rows as selectRows } from '../store/db.js';
import { outboxRecordsOf } from '../store/sql.js';

export interface FieldDifference {
  /** SharePoint internal column name. */
  field: string;
  postgres: unknown;
  sharePoint: unknown;
}

export interface RecordDifference {
  twentyId: string;
  itemId: string;
  fields: FieldDifference[];
}

export interface ListVerification {
  entity: string;
  listId: string;
  postgresCount: number;
  sharePointCount: number;
  /** TwentyIds in SharePoint but not in PostgreSQL (first `maxListed`; see the counts). */
  missingInPostgres: string[];
  missingInPostgresCount: number;
  /** TwentyIds in PostgreSQL but not in SharePoint. */
  missingInSharePoint: string[];
  missingInSharePointCount: number;
  /** Records present on both sides whose content hash differs, with the differing fields. */
  differing: RecordDifference[];
  differingCount: number;
  /** SharePoint items without a TwentyId (created by a person, not loaded yet). */
  itemsWithoutTwentyId: number;
  /** Records with a change waiting in the outbox: differences there are expected until it is sent. */
  pendingLocal: number;
  drift: boolean;
}

export interface VerifyReport {
  ok: boolean;
  checkedAt: string;
  lists: ListVerification[];
}

export interface VerifyOptions {
  pageSize: number;
  /** Most ids/records listed per category (counts are always complete). Default 100. */
  maxListed?: number;
}

type RemoteEntry = { itemId: string; hash: string; relations?: Record<string, string> };
type LocalDiffering = { twentyId: string; itemId: string; local: Record<string, unknown> };
/**
 * Records that differ only if a relation SharePoint holds points at a record that exists nowhere: such a
 * relation is empty (relation columns hold the target's TwentyId, decision 6, and a load leaves one that
 * points nowhere NULL: cache/loader.ts resolveForwardReferences), so it is settled after the scan.
 */
type Dangling = LocalDiffering & { hash: string; relations: Record<string, string> };

/**
 * Compares one list: SharePoint is read page by page into a map TwentyId → (item id, hash) — the only
 * thing held in memory —, then PostgreSQL is read in key order in chunks and hashed the same way.
 * Only records whose hashes differ are compared field by field (one item GET each, up to `maxListed`).
 */
export async function verifyList(
  ctx: SyncContext,
  runner: QueryRunner,
  list: ListSchema,
  options: VerifyOptions,
): Promise<ListVerification> {
  const maxListed = options.maxListed ?? 100;
  const listId = ctx.listIds.get(list.entityName);
  if (!listId) throw new ListNotProvisionedError(list.entityName);
  const { remote, sharePointCount, itemsWithoutTwentyId } = await readSharePoint(ctx, list, listId, options);

  const pending = new Set(
    (await selectRows<{ twenty_id: string }>(runner, outboxRecordsOf(ctx.schema), [list.entityName])).map(
      (r) => r.twenty_id,
    ),
  );

  const result: ListVerification = {
    entity: list.entityName,
    listId,
    postgresCount: 0,
    sharePointCount,
    missingInPostgres: [],
    missingInPostgresCount: 0,
    missingInSharePoint: [],
    missingInSharePointCount: 0,
    differing: [],
    differingCount: 0,
    itemsWithoutTwentyId,
    pendingLocal: pending.size,
    drift: false,
  };
  const differingIds: LocalDiffering[] = [];
  const dangling = await scanPostgres(runner, list, remote, pending, result, differingIds, maxListed);
  if (dangling.length > 0) await settleDangling(ctx, runner, list, dangling, result, differingIds, maxListed);
  for (const id of remote.keys()) {
    if (pending.has(id)) continue;
    result.missingInPostgresCount += 1;
    if (result.missingInPostgres.length < maxListed) result.missingInPostgres.push(id);
  }
  if (differingIds.length > 0)
    result.differing.push(...(await fieldDifferences(ctx, list, listId, differingIds)));
  result.drift =
    result.missingInPostgresCount > 0 ||
    result.missingInSharePointCount > 0 ||
    result.differingCount > 0 ||
    result.itemsWithoutTwentyId > 0;
  return result;
}

/** Step 1: SharePoint, page by page, into TwentyId → (item id, hash, relation ids). */
async function readSharePoint(
  ctx: SyncContext,
  list: ListSchema,
  listId: string,
  options: VerifyOptions,
): Promise<{ remote: Map<string, RemoteEntry>; sharePointCount: number; itemsWithoutTwentyId: number }> {
  const remote = new Map<string, RemoteEntry>();
  const relationFields = list.fields.filter((f) => f.kind === 'relation' && f.relationTarget);
  let itemsWithoutTwentyId = 0;
  let sharePointCount = 0;
  for await (const page of ctx.graph.pages<GraphListItem>(graphPath.items(ctx.site.id, listId), {
    query: { $expand: expandFields(selectClause(list)), $top: options.pageSize },
  })) {
    for (const item of page.value) {
      sharePointCount += 1;
      const canonical = canonicalFromItem(list, item.fields ?? {});
      const id = canonical[list.idField.name];
      if (typeof id !== 'string' || id === '') {
        itemsWithoutTwentyId += 1;
        continue;
      }
      const relations: Record<string, string> = {};
      for (const f of relationFields) {
        const value = canonical[f.name];
        if (typeof value === 'string' && value !== '') relations[f.name] = value;
      }
      remote.set(id, {
        itemId: item.id,
        hash: contentHash(canonical),
        ...(Object.keys(relations).length ? { relations } : {}),
      });
    }
  }
  return { remote, sharePointCount, itemsWithoutTwentyId };
}

/**
 * Step 2: PostgreSQL through a cursor, one scan a chunk at a time (memory stays at one chunk); removes
 * what it matches from `remote`, counts into `result`, and returns the records to settle after the scan.
 */
async function scanPostgres(
  runner: QueryRunner,
  list: ListSchema,
  remote: Map<string, RemoteEntry>,
  pending: Set<string>,
  result: ListVerification,
  differingIds: LocalDiffering[],
  maxListed: number,
): Promise<Dangling[]> {
  const dangling: Dangling[] = [];
  const table = quoteTablePath(list.tablePath);
  const idExpr = rowIdSql(list, 'e');
  await runner.startTransaction('REPEATABLE READ');
  try {
    await runner.query(
      `DECLARE tsp_verify NO SCROLL CURSOR FOR SELECT ${idExpr} AS "__tsp_id", e.* FROM ${table} e`,
    );
    for (;;) {
      const batch = await selectRows<Record<string, unknown>>(runner, 'FETCH 5000 FROM tsp_verify');
      if (batch.length === 0) break;
      for (const row of batch) {
        const id = String(row.__tsp_id);
        result.postgresCount += 1;
        if (pending.has(id)) {
          remote.delete(id); // a local change on its way: differences are expected, not drift
          continue;
        }
        const other = remote.get(id);
        if (!other) {
          result.missingInSharePointCount += 1;
          if (result.missingInSharePoint.length < maxListed) result.missingInSharePoint.push(id);
          continue;
        }
        remote.delete(id);
        const canonical = canonicalFromRow(list, row);
        if (contentHash(canonical) !== other.hash) {
          const emptied = Object.fromEntries(
            Object.entries(other.relations ?? {}).filter(([name]) => (canonical[name] ?? null) === null),
          );
          if (Object.keys(emptied).length > 0) {
            dangling.push({
              twentyId: id,
              itemId: other.itemId,
              local: canonical,
              hash: other.hash,
              relations: emptied,
            });
            continue;
          }
          result.differingCount += 1;
          if (differingIds.length < maxListed)
            differingIds.push({ twentyId: id, itemId: other.itemId, local: canonical });
        }
      }
    }
    await runner.commitTransaction();
  } catch (error) {
    if (runner.isTransactionActive) await runner.rollbackTransaction();
    throw error;
  }
  return dangling;
}

/** Step 3: a record whose only difference is relations pointing at deleted records does not differ. */
async function settleDangling(
  ctx: SyncContext,
  runner: QueryRunner,
  list: ListSchema,
  dangling: Dangling[],
  result: ListVerification,
  differingIds: LocalDiffering[],
  maxListed: number,
): Promise<void> {
  const absent = await absentTargets(
    ctx,
    runner,
    list,
    dangling.map((d) => d.relations),
  );
  for (const d of dangling) {
    // Put SharePoint's dangling ids into the local record: if that makes the two equal, nothing differs.
    const withIds = { ...d.local };
    for (const [name, value] of Object.entries(d.relations))
      if (absent.get(name)?.has(value)) withIds[name] = value;
    if (contentHash(withIds) === d.hash) continue;
    result.differingCount += 1;
    if (differingIds.length < maxListed)
      differingIds.push({ twentyId: d.twentyId, itemId: d.itemId, local: d.local });
  }
}

/** Step 4: field by field only for the differing records (re-read each item: the map kept only hashes). */
async function fieldDifferences(
  ctx: SyncContext,
  list: ListSchema,
  listId: string,
  differingIds: LocalDiffering[],
): Promise<RecordDifference[]> {
  const answers = await ctx.graph.batch<GraphListItem>(
    differingIds.map((d) => ({
      method: 'GET' as const,
      path: graphPath.item(ctx.site.id, listId, d.itemId),
      query: { $expand: expandFields(selectClause(list)) },
    })),
  );
  return answers.map((answer, i) => {
    const d = differingIds[i]!;
    const remoteFields = answer.ok ? canonicalFromItem(list, answer.body.fields ?? {}) : {};
    const names = new Set([...Object.keys(d.local), ...Object.keys(remoteFields)]);
    const fields: FieldDifference[] = [];
    for (const name of names) {
      const a = d.local[name] ?? null;
      const b = remoteFields[name] ?? null;
      if (stableFieldsJson({ v: a }) !== stableFieldsJson({ v: b }))
        fields.push({ field: name, postgres: a, sharePoint: b });
    }
    return { twentyId: d.twentyId, itemId: d.itemId, fields };
  });
}

/**
 * Per relation field: the ids SharePoint holds that match no row of the target's table — records deleted
 * (the relation is empty in the cache, which cannot hold an id with nothing behind it).
 */
async function absentTargets(
  ctx: SyncContext,
  runner: QueryRunner,
  list: ListSchema,
  relations: Record<string, string>[],
): Promise<Map<string, Set<string>>> {
  const absent = new Map<string, Set<string>>();
  for (const field of list.fields) {
    if (field.kind !== 'relation' || !field.relationTarget) continue;
    const ids = [...new Set(relations.map((r) => r[field.name]).filter((v): v is string => Boolean(v)))];
    if (ids.length === 0) continue;
    const target = ctx.dataSource.getMetadata(field.relationTarget);
    const pk = target.primaryColumns[0]!;
    const found = await selectRows<{ id: string }>(
      runner,
      `SELECT "${pk.databaseName}"::text AS id FROM ${quoteTablePath(target.tablePath)} WHERE "${pk.databaseName}"::text = ANY($1::text[])`,
      [ids],
    );
    const present = new Set(found.map((f) => f.id));
    absent.set(field.name, new Set(ids.filter((id) => !present.has(id))));
  }
  return absent;
}

/** A readable report for the CLI (`typeorm-sharepoint verify`). */
export function formatVerifyReport(report: VerifyReport): string {
  const lines: string[] = [];
  const show = (v: unknown) => (v === null || v === undefined ? '∅' : JSON.stringify(v));
  for (const l of report.lists) {
    lines.push(
      `${l.drift ? '✗' : '✓'} ${l.entity}: PostgreSQL ${l.postgresCount}, SharePoint ${l.sharePointCount}` +
        (l.drift ? '' : inStep(l)),
    );
    if (l.missingInPostgresCount > 0) {
      lines.push(
        `    missing in PostgreSQL: ${l.missingInPostgresCount}${listIds(l.missingInPostgres, l.missingInPostgresCount)}`,
      );
    }
    if (l.missingInSharePointCount > 0) {
      lines.push(
        `    missing in SharePoint: ${l.missingInSharePointCount}${listIds(l.missingInSharePoint, l.missingInSharePointCount)}`,
      );
    }
    if (l.itemsWithoutTwentyId > 0)
      lines.push(
        `    SharePoint items without TwentyId: ${l.itemsWithoutTwentyId} (the next load assigns them)`,
      );
    if (l.differingCount > 0) {
      lines.push(`    differing records: ${l.differingCount}`);
      for (const d of l.differing) {
        lines.push(`      ${d.twentyId} (item ${d.itemId})`);
        for (const f of d.fields)
          lines.push(`        ${f.field}: PostgreSQL ${show(f.postgres)} ≠ SharePoint ${show(f.sharePoint)}`);
      }
      if (l.differingCount > l.differing.length)
        lines.push(`      … and ${l.differingCount - l.differing.length} more`);
    }
    if (l.pendingLocal > 0)
      lines.push(
        `    unsent local changes: ${l.pendingLocal} (differences there are expected until flushed)`,
      );
  }
  lines.push(report.ok ? 'No drift.' : 'Drift found.');
  return lines.join('\n');
}

/** "identical" only when it is: equal counts and nothing unsent that the comparison left aside. */
function inStep(l: { postgresCount: number; sharePointCount: number; pendingLocal: number }): string {
  if (l.postgresCount === l.sharePointCount && l.pendingLocal === 0) return ' — identical';
  return ` — no drift: ${l.pendingLocal} unsent local change(s) account for the difference`;
}

function listIds(ids: string[], count: number): string {
  if (ids.length === 0) return '';
  return `\n      ${ids.join('\n      ')}${count > ids.length ? `\n      … and ${count - ids.length} more` : ''}`;
}
