import { randomUUID } from 'node:crypto';
import { type GraphRequest, graphPath, ODATA } from '../graph/index.js';
import type { LoadItem, LoadRun } from './run.js';

/**
 * Items a person created in SharePoint carry no TwentyId: give each one and write it back. On success the
 * item (row, fields, eTag) carries its new id; an item another writer gave an id first keeps none (the next
 * delta brings that id).
 */
export async function assignTwentyIds(run: LoadRun, missing: LoadItem[]): Promise<void> {
  const { ctx, list, result } = run;
  if (missing.length === 0 || list.kind === 'junction') {
    for (const m of missing) run.skip(m.item.id, 'junction item without both ids');
    return;
  }
  const ids = missing.map(() => randomUUID());
  // Conditional on the version we read: when two processes pull the same new item at once, only the first
  // id is written; the other answer is 412 and that process takes the id from the next delta instead of
  // giving the item a second one (two rows, one of them never in SharePoint).
  const requests: GraphRequest[] = missing.map((m, i) => ({
    method: 'PATCH',
    path: graphPath.itemFields(ctx.site.id, run.listId, m.item.id),
    body: { [list.idField.name]: ids[i] },
    ...(m.item.eTag ? { headers: { 'If-Match': m.item.eTag } } : {}),
  }));
  const answers = await ctx.graph.batch<Record<string, unknown>>(requests);
  result.requests += Math.ceil(requests.length / 20);
  answers.forEach((answer, i) => {
    const m = missing[i]!;
    if (!answer.ok && answer.status === 412) {
      ctx.logger.debug('typeorm-sharepoint: another writer gave this item its TwentyId first', {
        entity: list.entityName,
        itemId: m.item.id,
      });
      return;
    }
    if (!answer.ok) {
      run.skip(m.item.id, `could not write the new TwentyId back to SharePoint: ${answer.error.message}`);
      return;
    }
    const id = ids[i]!;
    m.twentyId = id;
    m.row[list.primaryKey] = list.idField.fromSharePoint(id);
    m.fields = { ...m.fields, [list.idField.name]: id };
    const etag = answer.body?.[ODATA.etag];
    if (typeof etag === 'string') m.item = { ...m.item, eTag: etag };
    result.assignedTwentyIds += 1;
  });
}
