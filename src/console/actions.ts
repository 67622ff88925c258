import type { SharePointSync } from '../sync/index.js';
import type { Authenticated } from './auth.js';
import {
  columnsOf,
  confirmDiscardBody,
  conflictFields,
  layout,
  type PageContext,
  remoteVersionOf,
} from './html.js';
import { html, message, type Reply } from './reply.js';
import type { ConsoleState } from './state.js';

// The console's actions (POST, read-write, CSRF checked by handle.ts) as data: path → handler.

export interface ActionRequest {
  state: ConsoleState;
  who: Authenticated;
  ctx: PageContext;
  form: URLSearchParams;
  sync: SharePointSync;
  /** The form's `id`, checked to be a number. */
  id: number | undefined;
  /** The form's `entity`, checked to be a synced list's. */
  entity: string | undefined;
  /** The audit log's `workspace` field (multi-tenant consoles). */
  where: Record<string, unknown>;
  /** Back to a page, saying what was done (`DONE` in handle.ts). */
  back(page: string, done: string, n: number): Reply;
}

/** A dead letter (id) or a list (entity): what retry and discard act on. */
function deadLetterFilter({ id, entity }: ActionRequest): { entity?: string; ids?: number[] } | Reply {
  if (id === undefined && !entity)
    return message(400, 'Bad request', 'Name a dead letter (id) or a list (entity).');
  return { ...(entity ? { entity } : {}), ...(id !== undefined ? { ids: [id] } : {}) };
}

async function retryDeadLetters(r: ActionRequest): Promise<Reply> {
  const filter = deadLetterFilter(r);
  if ('status' in filter) return filter;
  const n = await r.sync.retryDeadLetters(filter);
  r.state.audit(r.who, 'retried dead letters', { ...r.where, ...filter, count: n });
  return r.back('/dead-letters', 'retried', n);
}

/** Discarding asks first (`confirm=yes` does it). */
async function discardDeadLetters(r: ActionRequest): Promise<Reply> {
  const filter = deadLetterFilter(r);
  if ('status' in filter) return filter;
  const { id, entity, ctx, form } = r;
  if (form.get('confirm') !== 'yes') {
    const letters = (await r.sync.deadLetters(entity ? { entity } : {})).filter(
      (l) => id === undefined || l.id === id,
    );
    const workspace = r.state.multi ? (form.get('workspace') ?? undefined) : undefined;
    return html(
      200,
      layout(
        ctx,
        'dead-letters',
        'Discard dead letters?',
        confirmDiscardBody({ ...ctx, workspace }, { id, entity }, letters),
      ),
    );
  }
  const n = await r.sync.discardDeadLetters(filter);
  r.state.audit(r.who, 'discarded dead letters', { ...r.where, ...filter, count: n });
  return r.back('/dead-letters', 'discarded', n);
}

/** SharePoint's version, ours, or a merge field by field (`pick:<field>`). */
async function resolveConflict(r: ActionRequest): Promise<Reply> {
  const { id, form, sync } = r;
  const choice = form.get('choice');
  if (id === undefined || !['sharepoint', 'local', 'merge'].includes(choice ?? ''))
    return message(400, 'Bad request', 'Name the conflict (id) and a choice: sharepoint, local or merge.');
  const conflict = (await sync.conflicts.list({ open: true })).find((c) => c.id === id);
  if (!conflict) return message(404, 'Not found', `No open conflict #${id} (resolved meanwhile?).`);
  // The person chose between the versions the page showed: a newer SharePoint version means choosing again.
  const seen = form.get('seen');
  if (seen && seen !== remoteVersionOf(conflict))
    return message(
      409,
      'Changed meanwhile',
      `SharePoint's version of conflict #${id} changed since the page was loaded: review it again.`,
    );
  let picked: Record<string, 'local' | 'sharepoint'> = {};
  if (choice === 'merge') {
    if (!conflict.local || !conflict.remote)
      return message(400, 'Bad request', 'A record deleted on one side cannot be merged field by field.');
    const fields: Record<string, unknown> = {};
    for (const field of conflictFields(conflict, columnsOf(sync).get(conflict.entity))) {
      const side = form.get(`pick:${field}`) === 'local' ? 'local' : 'sharepoint';
      picked = { ...picked, [field]: side };
      const value = side === 'local' ? conflict.local[field] : conflict.remote[field];
      if (value !== undefined) fields[field] = value;
    }
    await sync.conflicts.resolve(id, { fields });
  } else {
    await sync.conflicts.resolve(id, choice === 'local' ? 'twenty' : 'sharepoint');
  }
  r.state.audit(r.who, 'resolved a conflict', {
    ...r.where,
    id,
    entity: conflict.entity,
    twentyId: conflict.twentyId,
    choice,
    ...(choice === 'merge' ? { fields: picked } : {}),
  });
  return r.back('/conflicts', 'resolved', id);
}

/** The actions on one sync. Sign-in and sign-out are handle.ts's (they come before the role check). */
export const ACTIONS: Record<string, (request: ActionRequest) => Promise<Reply>> = {
  '/dead-letters/retry': retryDeadLetters,
  '/dead-letters/discard': discardDeadLetters,
  '/conflicts/resolve': resolveConflict,
};
