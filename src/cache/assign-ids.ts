import { randomUUID } from 'node:crypto';
import { expandFields, type GraphRequest, graphPath, ODATA } from '../graph/index.js';
import { type GraphListItem, selectClause } from '../schema/index.js';
import type { LoadItem, LoadRun } from './run.js';

/**
 * Items a person created in SharePoint carry no TwentyId: give each one and write it back. On success the
 * item (row, fields, eTag) carries its new id; an item another writer gave an id first carries that id.
 */
export async function assignTwentyIds(run: LoadRun, missing: LoadItem[]): Promise<void> {
  const { list } = run;
  if (missing.length === 0 || list.kind === 'junction') {
    for (const m of missing) run.skip(m.item.id, 'junction item without both ids');
    return;
  }
  let contested = await writeIds(run, missing);
  for (let round = 1; contested.length > 0; round++) {
    // Another writer changed these items since we read them: read them again. One that has its id now keeps
    // it (a second process gave it): it is loaded with that id in this very pull, since the delta that
    // carries the other writer's change may be one this pull has already passed. One still without an id
    // was edited by someone else: give it an id again, on its new version.
    const again = await readAgain(run, contested);
    if (round >= ASSIGN_ROUNDS) {
      for (const m of again) run.skip(m.item.id, 'its TwentyId could not be written: the item kept changing');
      return;
    }
    contested = await writeIds(run, again);
  }
}

/** An item changed under us this many times in one pull is left for the next. */
const ASSIGN_ROUNDS = 3;

/** Writes a new id to each item, conditional on the version read; the items whose version moved (412). */
async function writeIds(run: LoadRun, missing: LoadItem[]): Promise<LoadItem[]> {
  const { ctx, list, result } = run;
  const ids = missing.map(() => randomUUID());
  // Conditional on the version we read: when two processes pull the same new item at once, only the first
  // id is written; the other answer is 412, and that process reads the item again instead of giving it a
  // second id (two rows, one of them never in SharePoint).
  const requests: GraphRequest[] = missing.map((m, i) => ({
    method: 'PATCH',
    path: graphPath.itemFields(ctx.site.id, run.listId, m.item.id),
    body: { [list.idField.name]: ids[i] },
    ...(m.item.eTag ? { headers: { 'If-Match': m.item.eTag } } : {}),
  }));
  const answers = await ctx.graph.batch<Record<string, unknown>>(requests);
  result.requests += Math.ceil(requests.length / 20);
  const contested: LoadItem[] = [];
  answers.forEach((answer, i) => {
    const m = missing[i]!;
    if (!answer.ok && answer.status === 412) {
      ctx.logger.debug(
        'typeorm-sharepoint: this item changed since it was read (another writer may have given its TwentyId)',
        {
          entity: list.entityName,
          itemId: m.item.id,
        },
      );
      contested.push(m);
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
  return contested;
}

/**
 * Reads contested items again. Each one that now has a TwentyId is updated in place (item, row, fields, id);
 * the ones still without one are returned. An item deleted meanwhile is skipped (the delta brings its delete).
 */
async function readAgain(run: LoadRun, contested: LoadItem[]): Promise<LoadItem[]> {
  const { ctx, list, result } = run;
  const answers = await ctx.graph.batch<GraphListItem>(
    contested.map((m) => ({
      method: 'GET',
      path: graphPath.item(ctx.site.id, run.listId, m.item.id),
      query: { $expand: expandFields(selectClause(list)) },
    })),
  );
  result.requests += Math.ceil(contested.length / 20);
  const stillMissing: LoadItem[] = [];
  answers.forEach((answer, i) => {
    const m = contested[i]!;
    if (!answer.ok || !answer.body) {
      run.skip(
        m.item.id,
        `could not read the item again after its TwentyId was contested: ${answer.ok ? 'no body' : answer.error.message}`,
      );
      return;
    }
    const item = answer.body;
    const converted = run.convert(item.fields ?? {});
    if (!converted.ok) {
      run.skip(m.item.id, converted.reason);
      const id = item.fields?.[list.idField.name];
      if (typeof id === 'string') run.keep.push(id);
      return;
    }
    m.item = item;
    m.row = converted.row;
    m.fields = converted.fields;
    if (converted.twentyId) m.twentyId = converted.twentyId;
    else stillMissing.push(m);
  });
  return stillMissing;
}
