import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { ConfigError } from '../config.js';
import { type Logger, silentLogger } from '../context.js';
import type { SharePointSync } from '../sync/index.js';
import { CONSOLE_CSS, CONSOLE_JS } from './assets.js';
import {
  type Authenticated,
  ConsoleAuth,
  type ConsoleAuthorize,
  type ConsoleRequestInfo,
  SESSION_COOKIE,
  sameSecret,
} from './auth.js';
import { History, overviewOf, SentCounter } from './figures.js';
import {
  columnsOf,
  confirmDiscardBody,
  conflictFields,
  conflictsBody,
  deadLettersBody,
  layout,
  link,
  loginPage,
  messagePage,
  overviewBody,
  overviewFragment,
  type PageContext,
  remoteVersionOf,
  type WorkspaceRow,
  workspacesBody,
} from './html.js';

export type { ConsoleAuthorize, ConsolePrincipal, ConsoleRequestInfo, ConsoleRole } from './auth.js';
export type { HistoryPoint, ListFigures, OverviewFigures } from './figures.js';

/** What the console needs of a `SharePointWorkspaces` (which fits it as it is). */
export interface ConsoleWorkspaces {
  status(): Promise<
    {
      workspace: string;
      pending: number;
      lagSeconds: number;
      deadLetters: number;
      openConflicts: number;
      totals: { resourceUnits: number; sent: number; throttled: number };
      stranded?: { reason: string } | undefined;
    }[]
  >;
  attached(): string[];
  get(workspaceId: string): Promise<SharePointSync>;
}

export interface ConsoleOptions {
  /** The sync to show (one site). Give this or `workspaces`. */
  sync?: SharePointSync;
  /** Every workspace of a multi-tenant application. Give this or `sync`. */
  workspaces?: ConsoleWorkspaces;
  /** Workspaces to list even while not attached (the Workspaces page shows them "not attached"). */
  workspaceIds?: () => string[] | Promise<string[]>;
  /** Opening a workspace that is not attached attaches it (the CLI's console). Default false: only attached ones open. */
  attachOnView?: boolean;
  /** Bearer token (≥ 16 characters) that signs in with the read-write role. */
  token?: string;
  /** Bearer token (≥ 16 characters) that signs in with the read-only role. */
  readOnlyToken?: string;
  /**
   * The application's own authentication (e.g. its session cookie): return the principal and its role, or
   * nothing (then a token may still sign in). Runs for every request.
   */
  authorize?: ConsoleAuthorize;
  /** The path the console is mounted under, e.g. `/ops/sharepoint`. Default: the root. */
  basePath?: string;
  /** Every action is logged here with who did it (`info`); refusals are `warn`. */
  logger?: Logger;
  /** How often the last hour's charts take a sample. Default 10 000 ms. */
  sampleIntervalMs?: number;
  /** How often an open overview refreshes itself. Default 2 000 ms. */
  refreshIntervalMs?: number;
  /** How long a sign-in lasts. Default 8 hours. */
  sessionTtlMs?: number;
}

/** A request handler for node `http` (and Express, Fastify's `raw`, NestJS), with a fetch-style form. */
export type ConsoleHandler = ((req: IncomingMessage, res: ServerResponse) => void) & {
  fetch(request: Request): Promise<Response>;
  /** Stops the chart sampler and the event listeners (the syncs stay attached: they are yours). */
  close(): void;
};

interface Incoming {
  method: string;
  url: string;
  headers: Record<string, string | undefined>;
  secure: boolean;
  /** The body, or undefined when it is larger than the limit. */
  readBody(): Promise<string | undefined>;
}

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const MAX_FORM_BYTES = 64 * 1024;
const MIN_TOKEN_LENGTH = 16;

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

const html = (status: number, body: string, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { 'Content-Type': 'text/html; charset=utf-8', ...headers },
  body,
});
const json = (status: number, value: unknown): Reply => ({
  status,
  headers: { 'Content-Type': 'application/json; charset=utf-8' },
  body: JSON.stringify(value),
});

/** What a finished action says on the page it returns to (built here: nothing from the URL is echoed). */
const DONE: Record<string, (n: number) => string> = {
  retried: (n) => `Re-queued ${n} record(s) for sending.`,
  discarded: (n) => `Discarded ${n} dead letter(s).`,
  resolved: (n) => `Conflict #${n} resolved.`,
};

function validate(options: ConsoleOptions): void {
  if (Boolean(options.sync) === Boolean(options.workspaces))
    throw new ConfigError('console: sync / workspaces', 'exactly one of `sync` and `workspaces`');
  for (const name of ['token', 'readOnlyToken'] as const) {
    const value = options[name];
    if (value !== undefined && (typeof value !== 'string' || value.length < MIN_TOKEN_LENGTH))
      // The value is a secret: never echoed.
      throw new ConfigError(`console: ${name}`, `a string of at least ${MIN_TOKEN_LENGTH} characters`);
  }
  if (!options.token && !options.readOnlyToken && !options.authorize)
    throw new ConfigError(
      'console: token / readOnlyToken / authorize',
      'at least one way to authenticate (nothing is served without it)',
    );
  if (options.basePath !== undefined && !/^(\/[A-Za-z0-9._~-]+)*\/?$/.test(options.basePath))
    throw new ConfigError('console: basePath', 'a path such as /ops/sharepoint', options.basePath);
}

/**
 * The operator console: overview, dead letters, conflicts and workspaces, as server-rendered pages behind
 * authentication. Mount the handler under `basePath` (see docs/console.md).
 * Over 80 lines (and the file over 400): one closure holding the console's state (history, sessions, base
 * path) around its page builders; `handle` is the route table. Not split yet (issue 16): the pages would
 * each need that state passed in; html.ts already holds the rendering.
 */
export function createConsole(options: ConsoleOptions): ConsoleHandler {
  validate(options);
  const base = (options.basePath ?? '').replace(/\/$/, '');
  const logger = options.logger ?? silentLogger;
  const auth = new ConsoleAuth({
    token: options.token,
    readOnlyToken: options.readOnlyToken,
    authorize: options.authorize,
    sessionTtlMs: options.sessionTtlMs ?? 8 * 60 * 60_000,
  });
  const history = new History();
  const counters = new Map<SharePointSync, SentCounter>();
  const refreshMs = options.refreshIntervalMs ?? 2000;
  const multi = Boolean(options.workspaces);

  const counterFor = (sync: SharePointSync) => {
    let counter = counters.get(sync);
    if (!counter) {
      counter = new SentCounter(sync);
      counters.set(sync, counter);
    }
    return counter;
  };
  if (options.sync) counterFor(options.sync);

  const sample = async () => {
    if (options.sync) {
      history.record('', await options.sync.status());
      return;
    }
    for (const status of await options.workspaces!.status())
      if (!status.stranded) history.record(status.workspace, status);
  };
  let sampling = false;
  const sampler = setInterval(() => {
    if (sampling) return;
    sampling = true;
    sample()
      .catch((error: unknown) =>
        logger.warn('typeorm-sharepoint console: sampling failed', { error: String(error) }),
      )
      .finally(() => {
        sampling = false;
      });
  }, options.sampleIntervalMs ?? 10_000);
  sampler.unref?.();
  void sample().catch(() => undefined);

  async function knownWorkspaces(): Promise<string[]> {
    const ws = options.workspaces!;
    const ids = new Set(ws.attached());
    for (const id of (await options.workspaceIds?.()) ?? []) ids.add(id);
    return [...ids];
  }

  /** The sync a page is about: the one given, or the `?workspace=` one. */
  async function target(workspace: string | null): Promise<{ sync: SharePointSync; key: string } | Reply> {
    if (options.sync) return { sync: options.sync, key: '' };
    if (!workspace) return { status: 303, headers: { Location: `${base}/workspaces` }, body: '' };
    const ws = options.workspaces!;
    const known =
      ws.attached().includes(workspace) ||
      (options.attachOnView && (await knownWorkspaces()).includes(workspace));
    if (!known)
      return html(
        404,
        messagePage('Not attached', `Workspace "${workspace}" is not attached in this process.`),
      );
    const sync = await ws.get(workspace);
    counterFor(sync);
    return { sync, key: workspace };
  }

  function audit(who: Authenticated, action: string, fields: Record<string, unknown>): void {
    logger.info(`typeorm-sharepoint console: ${action}`, {
      who: who.principal.name,
      role: who.principal.role,
      via: who.via,
      ...fields,
    });
  }

  async function workspaceRows(): Promise<WorkspaceRow[]> {
    const statuses = await options.workspaces!.status();
    const byId = new Map(statuses.map((s) => [s.workspace, s]));
    const ids = new Set([...(await knownWorkspaces()), ...byId.keys()]);
    return [...ids].sort().map((id): WorkspaceRow => {
      const s = byId.get(id);
      if (!s) return { workspace: id, attached: false, health: 'not attached', reason: '' };
      const figures = {
        pending: s.pending,
        lagSeconds: s.lagSeconds,
        deadLetters: s.deadLetters,
        openConflicts: s.openConflicts,
      };
      if (s.stranded)
        return {
          workspace: id,
          attached: false,
          health: 'problem',
          reason: `stranded: ${s.stranded.reason}`,
          ...figures,
        };
      const [health, reason]: [WorkspaceRow['health'], string] =
        s.deadLetters > 0
          ? ['problem', `${s.deadLetters} dead letter(s)`]
          : s.openConflicts > 0
            ? ['attention', `${s.openConflicts} open conflict(s)`]
            : s.lagSeconds > 300
              ? ['attention', 'a change has waited over 5 minutes']
              : ['ok', ''];
      return { workspace: id, attached: true, health, reason, ...figures };
    });
  }

  // The route table: one branch per page or action (method, path, permission); long because the routes are many.
  async function handle(request: Incoming): Promise<Reply> {
    const url = new URL(request.url, 'http://console.invalid');
    let path = url.pathname;
    if (base && (path === base || path.startsWith(`${base}/`))) path = path.slice(base.length);
    if (path === '') path = '/';
    const method = request.method.toUpperCase();
    const info: ConsoleRequestInfo = { method, url: request.url, headers: request.headers };

    if (method === 'POST' && path === '/login') {
      if (!auth.tokenLogin) return html(404, messagePage('Not found', 'Sign in through the application.'));
      const body = await request.readBody();
      if (body === undefined) return html(413, messagePage('Too large', 'The form is too large.'));
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
        `Max-Age=${Math.floor((options.sessionTtlMs ?? 8 * 60 * 60_000) / 1000)}`,
        ...(request.secure ? ['Secure'] : []),
      ].join('; ');
      return { status: 303, headers: { Location: `${base}/`, 'Set-Cookie': cookie }, body: '' };
    }

    const who = await auth.authenticate(info);
    if (!who) {
      const headers = { 'WWW-Authenticate': 'Bearer realm="typeorm-sharepoint console"' };
      if (path.startsWith('/api/'))
        return {
          ...json(401, { error: 'authentication required' }),
          headers: { ...headers, 'Content-Type': 'application/json; charset=utf-8' },
        };
      return html(
        401,
        auth.tokenLogin ? loginPage(base) : messagePage('Sign in', 'Sign in to the application first.'),
        headers,
      );
    }

    if (method === 'GET' && path === '/assets/console.js')
      return { status: 200, headers: { 'Content-Type': 'text/javascript; charset=utf-8' }, body: CONSOLE_JS };
    if (method === 'GET' && path === '/assets/console.css')
      return { status: 200, headers: { 'Content-Type': 'text/css; charset=utf-8' }, body: CONSOLE_CSS };
    if (method === 'GET' && path === '/api/session')
      return json(200, { principal: who.principal, csrf: who.csrf });

    const workspace = url.searchParams.get('workspace');
    const done = url.searchParams.get('done');
    const flash = done && DONE[done] ? DONE[done]!(Number(url.searchParams.get('n')) || 0) : undefined;
    const ctx: PageContext = {
      base,
      principal: who.principal,
      csrf: who.csrf,
      workspace: multi ? (workspace ?? undefined) : undefined,
      multi,
      canSignOut: who.via === 'session',
      flash,
    };

    if (method === 'GET') {
      if (path === '/workspaces') {
        if (!multi) return { status: 303, headers: { Location: `${base}/` }, body: '' };
        return html(
          200,
          layout(
            { ...ctx, workspace: undefined },
            'workspaces',
            'Workspaces',
            workspacesBody(ctx, await workspaceRows()),
          ),
        );
      }
      if (!['/', '/live', '/api/overview', '/dead-letters', '/conflicts'].includes(path))
        return html(404, messagePage('Not found', 'No such page.'));
      const found = await target(workspace);
      if (!('sync' in found)) return found;
      const { sync, key } = found;
      if (path === '/' || path === '/live' || path === '/api/overview') {
        const overview = await overviewOf(sync, history, key, counters.get(sync));
        if (path === '/api/overview') return json(200, overview);
        if (path === '/live') return html(200, overviewFragment(ctx, overview));
        return html(200, layout(ctx, 'overview', 'Overview', overviewBody(ctx, overview, refreshMs)));
      }
      if (path === '/dead-letters') {
        const entity = url.searchParams.get('entity') || undefined;
        const error = url.searchParams.get('error') || undefined;
        const all = await sync.deadLetters();
        const shown = all.filter(
          (l) =>
            (!entity || l.entity === entity) &&
            (!error || l.error.toLowerCase().includes(error.toLowerCase())),
        );
        const lists = sync.lists.map((l) => ({ entity: l.entityName, title: l.title }));
        return html(
          200,
          layout(
            ctx,
            'dead-letters',
            'Dead letters',
            deadLettersBody(ctx, shown, all, lists, { entity, error }),
          ),
        );
      }
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

    if (method !== 'POST')
      return {
        ...html(405, messagePage('Not allowed', 'GET or POST only.')),
        headers: { Allow: 'GET, POST', 'Content-Type': 'text/html; charset=utf-8' },
      };

    // Actions: a read-write principal, and the CSRF token bound to it.
    const body = await request.readBody();
    if (body === undefined) return html(413, messagePage('Too large', 'The form is too large.'));
    const form = new URLSearchParams(body);
    const csrf = form.get('_csrf') ?? request.headers['x-csrf-token'] ?? '';
    if (!csrf || !sameSecret(csrf, who.csrf)) {
      logger.warn('typeorm-sharepoint console: action refused (CSRF token missing or wrong)', {
        who: who.principal.name,
        path,
      });
      return html(
        403,
        messagePage(
          'Refused',
          'The form is missing its CSRF token or it is not yours: reload the page and try again.',
        ),
      );
    }
    if (path === '/logout') {
      if (who.sessionId) auth.endSession(who.sessionId);
      audit(who, 'signed out', {});
      return {
        status: 303,
        headers: {
          Location: `${base}/`,
          'Set-Cookie': `${SESSION_COOKIE}=; Path=${base || '/'}; HttpOnly; SameSite=Strict; Max-Age=0`,
        },
        body: '',
      };
    }
    if (who.principal.role !== 'read-write') {
      logger.warn('typeorm-sharepoint console: action refused (read-only)', {
        who: who.principal.name,
        path,
      });
      return html(403, messagePage('Read-only', 'Your role may view the console but not act.'));
    }
    const found = await target(form.get('workspace'));
    if (!('sync' in found)) return found;
    const { sync } = found;
    const where = { ...(multi ? { workspace: form.get('workspace') } : {}) };
    const back = (page: string, doneKey: string, n: number) => ({
      status: 303,
      headers: {
        Location: link({ base, workspace: multi ? (form.get('workspace') ?? undefined) : undefined }, page, {
          done: doneKey,
          n: String(n),
        }),
      },
      body: '',
    });
    const id = form.get('id') ? Number(form.get('id')) : undefined;
    if (id !== undefined && !Number.isSafeInteger(id))
      return html(400, messagePage('Bad request', 'id must be a number.'));
    const entity = form.get('entity') || undefined;
    if (entity && !sync.lists.some((l) => l.entityName === entity))
      return html(400, messagePage('Bad request', `No synced list for entity "${entity}".`));

    if (path === '/dead-letters/retry' || path === '/dead-letters/discard') {
      if (id === undefined && !entity)
        return html(400, messagePage('Bad request', 'Name a dead letter (id) or a list (entity).'));
      const filter = { ...(entity ? { entity } : {}), ...(id !== undefined ? { ids: [id] } : {}) };
      if (path === '/dead-letters/retry') {
        const n = await sync.retryDeadLetters(filter);
        audit(who, 'retried dead letters', { ...where, ...filter, count: n });
        return back('/dead-letters', 'retried', n);
      }
      if (form.get('confirm') !== 'yes') {
        const letters = (await sync.deadLetters(entity ? { entity } : {})).filter(
          (l) => id === undefined || l.id === id,
        );
        return html(
          200,
          layout(
            ctx,
            'dead-letters',
            'Discard dead letters?',
            confirmDiscardBody(
              { ...ctx, workspace: multi ? (form.get('workspace') ?? undefined) : undefined },
              { id, entity },
              letters,
            ),
          ),
        );
      }
      const n = await sync.discardDeadLetters(filter);
      audit(who, 'discarded dead letters', { ...where, ...filter, count: n });
      return back('/dead-letters', 'discarded', n);
    }

    if (path === '/conflicts/resolve') {
      const choice = form.get('choice');
      if (id === undefined || !['sharepoint', 'local', 'merge'].includes(choice ?? ''))
        return html(
          400,
          messagePage('Bad request', 'Name the conflict (id) and a choice: sharepoint, local or merge.'),
        );
      const conflict = (await sync.conflicts.list({ open: true })).find((c) => c.id === id);
      if (!conflict)
        return html(404, messagePage('Not found', `No open conflict #${id} (resolved meanwhile?).`));
      // The person chose between the versions the page showed: a newer SharePoint version means choosing again.
      const seen = form.get('seen');
      if (seen && seen !== remoteVersionOf(conflict))
        return html(
          409,
          messagePage(
            'Changed meanwhile',
            `SharePoint's version of conflict #${id} changed since the page was loaded: review it again.`,
          ),
        );
      let picked: Record<string, 'local' | 'sharepoint'> = {};
      if (choice === 'merge') {
        if (!conflict.local || !conflict.remote)
          return html(
            400,
            messagePage('Bad request', 'A record deleted on one side cannot be merged field by field.'),
          );
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
      audit(who, 'resolved a conflict', {
        ...where,
        id,
        entity: conflict.entity,
        twentyId: conflict.twentyId,
        choice,
        ...(choice === 'merge' ? { fields: picked } : {}),
      });
      return back('/conflicts', 'resolved', id);
    }
    return html(404, messagePage('Not found', 'No such action.'));
  }

  async function safely(request: Incoming): Promise<Reply> {
    let reply: Reply;
    try {
      reply = await handle(request);
    } catch (error) {
      logger.error('typeorm-sharepoint console: request failed', { url: request.url, error: String(error) });
      reply = html(500, messagePage('Error', 'The console could not answer; the details are in the log.'));
    }
    return { ...reply, headers: { ...SECURITY_HEADERS, ...reply.headers } };
  }

  const node = (req: IncomingMessage, res: ServerResponse) => {
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(req.headers))
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    const incoming: Incoming = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers,
      secure: Boolean((req.socket as TLSSocket).encrypted) || headers['x-forwarded-proto'] === 'https',
      readBody: () =>
        new Promise((resolve) => {
          const chunks: Buffer[] = [];
          let size = 0;
          let over = false;
          req.on('data', (chunk: Buffer) => {
            if (over) return;
            size += chunk.length;
            if (size > MAX_FORM_BYTES) {
              over = true;
              resolve(undefined);
              return;
            }
            chunks.push(chunk);
          });
          req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks).toString('utf8')));
          req.on('error', () => resolve(undefined));
        }),
    };
    safely(incoming).then((reply) => {
      if (res.headersSent) return;
      res
        .writeHead(reply.status, { ...reply.headers, ...(req.complete ? {} : { Connection: 'close' }) })
        .end(reply.body);
    });
  };

  const fetchHandler = async (request: Request): Promise<Response> => {
    const headers: Record<string, string | undefined> = {};
    request.headers.forEach((value, name) => {
      headers[name.toLowerCase()] = value;
    });
    const reply = await safely({
      method: request.method,
      url: (() => {
        const u = new URL(request.url);
        return `${u.pathname}${u.search}`;
      })(),
      headers,
      secure: new URL(request.url).protocol === 'https:',
      readBody: async () => {
        if (!request.body) return '';
        const reader = request.body.getReader();
        const chunks: Uint8Array[] = [];
        let size = 0;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          size += value.length;
          if (size > MAX_FORM_BYTES) {
            reader.cancel().catch(() => {});
            return undefined;
          }
          chunks.push(value);
        }
        return Buffer.concat(chunks).toString('utf8');
      },
    });
    return new Response(reply.body || null, { status: reply.status, headers: reply.headers });
  };

  return Object.assign(node, {
    fetch: fetchHandler,
    close() {
      clearInterval(sampler);
      for (const counter of counters.values()) counter.stop();
      counters.clear();
    },
  });
}
