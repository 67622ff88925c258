import { CONSOLE_CSS, CONSOLE_JS } from './assets.js';
import type { Authenticated } from './auth.js';
import { overviewOf } from './figures.js';
import {
  columnsOf,
  conflictsBody,
  deadLettersBody,
  layout,
  overviewBody,
  overviewFragment,
  type PageContext,
  workspacesBody,
} from './html.js';
import { html, json, type Reply, redirect } from './reply.js';
import type { ConsoleState, Target } from './state.js';

// The console's GET routes as data: path → handler (as msw lists its handlers). handle.ts dispatches.

/** Served to anyone signed in, before a page's sync is looked up. */
export const FIXED: Record<string, (who: Authenticated) => Reply> = {
  '/assets/console.js': () => ({
    status: 200,
    headers: { 'Content-Type': 'text/javascript; charset=utf-8' },
    body: CONSOLE_JS,
  }),
  '/assets/console.css': () => ({
    status: 200,
    headers: { 'Content-Type': 'text/css; charset=utf-8' },
    body: CONSOLE_CSS,
  }),
  '/api/session': (who) => json(200, { principal: who.principal, csrf: who.csrf }),
};

/** The Workspaces page (multi-tenant consoles only): not about one sync. */
export async function workspacesPage(state: ConsoleState, ctx: PageContext): Promise<Reply> {
  if (!state.multi) return redirect(`${state.base}/`);
  return html(
    200,
    layout(
      { ...ctx, workspace: undefined },
      'workspaces',
      'Workspaces',
      workspacesBody(ctx, await state.workspaceRows()),
    ),
  );
}

export interface PageRequest {
  state: ConsoleState;
  ctx: PageContext;
  url: URL;
  target: Target;
}

const overview = ({ state, target }: PageRequest) =>
  overviewOf(target.sync, state.history, target.key, state.counters.get(target.sync));

async function deadLettersPage({ ctx, url, target: { sync } }: PageRequest): Promise<Reply> {
  const entity = url.searchParams.get('entity') || undefined;
  const error = url.searchParams.get('error') || undefined;
  const all = await sync.deadLetters();
  const shown = all.filter(
    (l) =>
      (!entity || l.entity === entity) && (!error || l.error.toLowerCase().includes(error.toLowerCase())),
  );
  const lists = sync.lists.map((l) => ({ entity: l.entityName, title: l.title }));
  return html(
    200,
    layout(ctx, 'dead-letters', 'Dead letters', deadLettersBody(ctx, shown, all, lists, { entity, error })),
  );
}

async function conflictsPage({ ctx, url, target: { sync } }: PageRequest): Promise<Reply> {
  const entity = url.searchParams.get('entity') || undefined;
  const filter = entity ? { entity } : {};
  const [open, resolved] = await Promise.all([
    sync.conflicts.list({ ...filter, open: true }),
    sync.conflicts.list({ ...filter, open: false }),
  ]);
  return html(
    200,
    layout(ctx, 'conflicts', 'Conflicts', conflictsBody(ctx, open, resolved, columnsOf(sync), entity)),
  );
}

/** The pages about one sync (the given one, or the `?workspace=` one). */
export const PAGES: Record<string, (request: PageRequest) => Promise<Reply>> = {
  '/': async (r) =>
    html(
      200,
      layout(r.ctx, 'overview', 'Overview', overviewBody(r.ctx, await overview(r), r.state.refreshMs)),
    ),
  '/live': async (r) => html(200, overviewFragment(r.ctx, await overview(r))),
  '/api/overview': async (r) => json(200, await overview(r)),
  '/dead-letters': deadLettersPage,
  '/conflicts': conflictsPage,
};
