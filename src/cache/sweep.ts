import type { QueryRunner } from 'typeorm';
import type { ListSchema } from '../schema/index.js';
import { execute, rows as selectRows } from '../store/db.js';
import { deleteRows, quoteTablePath, type UpsertTarget } from '../store/rows.js';
import { rowIdSql } from './convert.js';
import { type LoadRun, yieldingPage } from './run.js';

/**
 * After a full pass: rows (and sync_state) that SharePoint did not return are gone there. Only rows that
 * were once known in SharePoint (a sync_state older than this load) are removed: a row that never had a
 * sync_state predates the attach (existing data awaiting `migrate`) and must never be destroyed by a load.
 */
export async function sweepMissing(run: LoadRun, loadStart: Date): Promise<number> {
  const { runner, list } = run;
  const s = run.ctx.schema;
  const entity = list.entityName;
  const keep = run.keep;
  const skipped: { itemId: string; reason: string }[] = [];
  const deleted = await yieldingPage(runner, async () => {
    skipped.length = 0;
    const stale = await selectRows<{ id: string }>(
      runner,
      `SELECT ${rowIdSql(list, 'e')} AS id FROM ${quoteTablePath(list.tablePath)} e
        WHERE EXISTS (SELECT 1 FROM "${s}".sync_state st
                       WHERE st.entity = $1 AND st.twenty_id = ${rowIdSql(list, 'e')} AND st.synced_at < $2)
          AND NOT EXISTS (SELECT 1 FROM "${s}".outbox o WHERE o.entity = $1 AND o.twenty_id = ${rowIdSql(list, 'e')})
          AND NOT (${rowIdSql(list, 'e')} = ANY($3::text[]))`,
      [entity, loadStart, keep],
    );
    const ids = stale.map((r) => r.id);
    const count = await deleteRecords(runner, list, run.target, ids, (itemId, reason) =>
      skipped.push({ itemId, reason }),
    );
    await execute(
      runner,
      `DELETE FROM "${s}".sync_state st WHERE st.entity = $1 AND st.synced_at < $2
          AND NOT EXISTS (SELECT 1 FROM "${s}".outbox o WHERE o.entity = $1 AND o.twenty_id = st.twenty_id)
          AND NOT (st.twenty_id = ANY($3::text[]))`,
      [entity, loadStart, keep],
    );
    return count;
  });
  for (const x of skipped) run.skip(x.itemId, x.reason);
  return deleted;
}

/**
 * Deletes records (by TwentyId) in a savepoint; when a foreign key still points at one of them (another
 * table's row references it), falls back to one savepoint per record and reports the ones that stay.
 */
export async function deleteRecords(
  runner: QueryRunner,
  list: ListSchema,
  target: UpsertTarget,
  ids: string[],
  skip: (itemId: string, reason: string) => void,
): Promise<number> {
  if (ids.length === 0) return 0;
  const remove = async (some: string[]) => {
    if (list.kind === 'junction') {
      const r = await execute(
        runner,
        `DELETE FROM ${quoteTablePath(list.tablePath)} e WHERE ${rowIdSql(list, 'e')} = ANY($1::text[])`,
        [some],
      );
      return r.affected ?? 0;
    }
    return deleteRows(runner, target, some);
  };
  await runner.query('SAVEPOINT tsp_delete');
  try {
    const n = await remove(ids);
    await runner.query('RELEASE SAVEPOINT tsp_delete');
    return n;
  } catch (error) {
    await runner.query('ROLLBACK TO SAVEPOINT tsp_delete');
    if ((error as { code?: string }).code !== '23503') throw error;
  }
  let deleted = 0;
  for (const id of ids) {
    await runner.query('SAVEPOINT tsp_delete_one');
    try {
      deleted += await remove([id]);
      await runner.query('RELEASE SAVEPOINT tsp_delete_one');
    } catch (error) {
      await runner.query('ROLLBACK TO SAVEPOINT tsp_delete_one');
      if ((error as { code?: string }).code !== '23503') throw error;
      skip(
        id,
        `deleted in SharePoint but still referenced in PostgreSQL (${(error as Error).message}); kept`,
      );
    }
  }
  return deleted;
}
