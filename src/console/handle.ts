import { ACTIONS, type ActionRequest } from './actions.js';
import { type Authenticated, type ConsoleRequestInfo, SESSION_COOKIE, sameSecret } from './auth.js';
import { link, loginPage, messagePage, type PageContext } from './html.js';
import { FIXED, PAGES, workspacesPage } from './pages.js';
import { html, type Incoming, json, message, type Reply, redirect } from './reply.js';
import type { ConsoleState } from './state.js';

// One request through the console, in order: sign-in (the one route before authentication), authentication,
// the fixed routes (assets, session), pages (GET, pages.ts), then actions (POST: CSRF, sign-out, role,
// actions.ts). The order is the security model: nothing but sign-in is reached unauthenticated, and no
// action runs without the CSRF token bound to its principal.

/** What a finished action says on the page it returns to (built here: nothing from the URL is echoed). */
const DONE: Record<string, (n: number) => string> = {
  retried: (n) => `Re-queued ${n} record(s) for sending.`,
  discarded: (n) => `Discarded ${n} dead letter(s).`,
  resolved: (n) => `Conflict #${n} resolved.`,
};

/** A route of a table, never a property every object has. */
function routeOf<T>(table: Record<string, T>, path: string): T | undefined {
  return Object.hasOwn(table, path) ? table[path] : undefined;
}

async function login(state: ConsoleState, request: Incoming): Promise<Reply> {
  const { auth, base, logger } = state;
  if (!auth.tokenLogin) return message(404, 'Not found', 'Sign in through the application.');
  const body = await request.readBody();
  if (body === undefined) return message(413, 'Too large', 'The form is too large.');
  const principal = auth.principalForToken(new URLSearchParams(body).get('token') ?? '');
  if (!principal) {
    logger.warn('typeorm-sharepoint console: sign-in refused (wrong token)', {});
    return html(401, loginPage(base, 'That token is not valid.'));
  }
  const session = auth.createSession(principal);
  logger.info('typeorm-sharepoint console: signed in', { who: principal.name, role: principal.role });
  const cookie = [
    `${SESSION_COOKIE}=${session.id}`,
    `Path=${base || '/'}`,
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${Math.floor(state.sessionTtlMs / 1000)}`,
    ...(request.secure ? ['Secure'] : []),
  ].join('; ');
  return redirect(`${base}/`, { 'Set-Cookie': cookie });
}

function unauthenticated(state: ConsoleState, path: string): Reply {
  const headers = { 'WWW-Authenticate': 'Bearer realm="typeorm-sharepoint console"' };
  if (path.startsWith('/api/'))
    return {
      ...json(401, { error: 'authentication required' }),
      headers: { ...headers, 'Content-Type': 'application/json; charset=utf-8' },
    };
  return html(
    401,
    state.auth.tokenLogin
      ? loginPage(state.base)
      : messagePage('Sign in', 'Sign in to the application first.'),
    headers,
  );
}

function pageContext(state: ConsoleState, url: URL, who: Authenticated): PageContext {
  const workspace = url.searchParams.get('workspace');
  // Only DONE's own entries: `?done=__proto__` or `?done=toString` says nothing (and fails nothing).
  const said = routeOf(DONE, url.searchParams.get('done') ?? '');
  const flash = said?.(Number(url.searchParams.get('n')) || 0);
  return {
    base: state.base,
    principal: who.principal,
    csrf: who.csrf,
    workspace: state.multi ? (workspace ?? undefined) : undefined,
    multi: state.multi,
    canSignOut: who.via === 'session',
    flash,
  };
}

async function showPage(state: ConsoleState, url: URL, path: string, ctx: PageContext): Promise<Reply> {
  if (path === '/workspaces') return workspacesPage(state, ctx);
  const page = routeOf(PAGES, path);
  if (!page) return message(404, 'Not found', 'No such page.');
  const target = await state.target(url.searchParams.get('workspace'));
  if (!('sync' in target)) return target;
  return page({ state, ctx, url, target });
}

/** Only a read-write principal with the CSRF token bound to it acts; signing out needs only the token. */
async function act(
  state: ConsoleState,
  request: Incoming,
  path: string,
  ctx: PageContext,
  who: Authenticated,
): Promise<Reply> {
  const { base, logger, multi } = state;
  const body = await request.readBody();
  if (body === undefined) return message(413, 'Too large', 'The form is too large.');
  const form = new URLSearchParams(body);
  const csrf = form.get('_csrf') ?? request.headers['x-csrf-token'] ?? '';
  if (!csrf || !sameSecret(csrf, who.csrf)) {
    logger.warn('typeorm-sharepoint console: action refused (CSRF token missing or wrong)', {
      who: who.principal.name,
      path,
    });
    return message(
      403,
      'Refused',
      'The form is missing its CSRF token or it is not yours: reload the page and try again.',
    );
  }
  if (path === '/logout') {
    if (who.sessionId) state.auth.endSession(who.sessionId);
    state.audit(who, 'signed out', {});
    return redirect(`${base}/`, {
      'Set-Cookie': `${SESSION_COOKIE}=; Path=${base || '/'}; HttpOnly; SameSite=Strict; Max-Age=0`,
    });
  }
  if (who.principal.role !== 'read-write') {
    logger.warn('typeorm-sharepoint console: action refused (read-only)', { who: who.principal.name, path });
    return message(403, 'Read-only', 'Your role may view the console but not act.');
  }
  const target = await state.target(form.get('workspace'));
  if (!('sync' in target)) return target;
  const { sync } = target;
  const id = form.get('id') ? Number(form.get('id')) : undefined;
  if (id !== undefined && !Number.isSafeInteger(id))
    return message(400, 'Bad request', 'id must be a number.');
  const entity = form.get('entity') || undefined;
  if (entity && !sync.lists.some((l) => l.entityName === entity))
    return message(400, 'Bad request', `No synced list for entity "${entity}".`);
  const action = routeOf(ACTIONS, path);
  if (!action) return message(404, 'Not found', 'No such action.');
  const workspace = multi ? (form.get('workspace') ?? undefined) : undefined;
  const request_: ActionRequest = {
    state,
    who,
    ctx,
    form,
    sync,
    id,
    entity,
    where: { ...(multi ? { workspace: form.get('workspace') } : {}) },
    back: (page, done, n) => redirect(link({ base, workspace }, page, { done, n: String(n) })),
  };
  return action(request_);
}

/** The console's path of a request's path, or undefined when the request is not under the base path. */
function underBase(base: string, pathname: string): string | undefined {
  if (!base || pathname === base) return pathname.slice(base.length) || '/';
  return pathname.startsWith(`${base}/`) ? pathname.slice(base.length) : undefined;
}

/** The console's answer to one request (errors included: `safely` in index.ts adds the security headers). */
export async function handle(state: ConsoleState, request: Incoming): Promise<Reply> {
  // The request's whole path (Express keeps it in originalUrl when its mount path was cut off `url`): the
  // console answers only under its base path, never taking `/x` for `<base>/x`. Always read as a path (a
  // `//host/…` URL names no host here).
  const raw = request.originalUrl ?? request.url;
  const url = new URL(`http://console.invalid${raw.startsWith('/') ? '' : '/'}${raw}`);
  const path = underBase(state.base, url.pathname);
  if (path === undefined) return message(404, 'Not found', 'No such page.');
  const method = request.method.toUpperCase();
  const info: ConsoleRequestInfo = { method, url: raw, headers: request.headers };

  if (method === 'POST' && path === '/login') return login(state, request);
  const who = await state.auth.authenticate(info);
  if (!who) return unauthenticated(state, path);
  const fixed = method === 'GET' ? routeOf(FIXED, path) : undefined;
  if (fixed) return fixed(who);
  const ctx = pageContext(state, url, who);
  if (method === 'GET') return showPage(state, url, path, ctx);
  if (method !== 'POST')
    return {
      ...message(405, 'Not allowed', 'GET or POST only.'),
      headers: { Allow: 'GET, POST', 'Content-Type': 'text/html; charset=utf-8' },
    };
  return act(state, request, path, ctx, who);
}
