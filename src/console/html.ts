import { createHash } from 'node:crypto';
import type { SharePointSync } from '../sync/index.js';
import type { ConsolePrincipal } from './auth.js';
import { History, type HistoryPoint, type OverviewFigures } from './figures.js';

type Conflict = Awaited<ReturnType<SharePointSync['conflicts']['list']>>[number];
type DeadLetter = Awaited<ReturnType<SharePointSync['deadLetters']>>[number];

// Over 400 lines: the console's page templates (markup as data), one short function per page or fragment.

/** HTML escaping for text and attribute values: every value from the database or a request goes through it. */
export function esc(value: unknown): string {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

export interface PageContext {
  base: string;
  principal: ConsolePrincipal;
  csrf: string;
  /** The workspace shown (multi-tenant consoles). */
  workspace?: string | undefined;
  /** Whether the console serves several workspaces. */
  multi: boolean;
  /** Whether a sign-out button makes sense (a session of ours). */
  canSignOut: boolean;
  flash?: string | undefined;
}

type Page = 'overview' | 'dead-letters' | 'conflicts' | 'workspaces';

/** `?workspace=…` carried by every link of a multi-workspace console. */
export function link(
  ctx: Pick<PageContext, 'base' | 'workspace'>,
  path: string,
  query: Record<string, string> = {},
): string {
  const params = new URLSearchParams({ ...(ctx.workspace ? { workspace: ctx.workspace } : {}), ...query });
  const search = params.toString();
  return `${ctx.base}${path}${search ? `?${search}` : ''}`;
}

function hidden(ctx: PageContext): string {
  return (
    `<input type="hidden" name="_csrf" value="${esc(ctx.csrf)}">` +
    (ctx.workspace ? `<input type="hidden" name="workspace" value="${esc(ctx.workspace)}">` : '')
  );
}

const canAct = (ctx: PageContext) => ctx.principal.role === 'read-write';

export function layout(ctx: PageContext, page: Page, title: string, body: string): string {
  const nav: [Page, string, string][] = [
    ['overview', '/', 'Overview'],
    ['dead-letters', '/dead-letters', 'Dead letters'],
    ['conflicts', '/conflicts', 'Conflicts'],
    ...(ctx.multi ? ([['workspaces', '/workspaces', 'Workspaces']] as [Page, string, string][]) : []),
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · typeorm-sharepoint console</title>
<link rel="stylesheet" href="${esc(ctx.base)}/assets/console.css">
<script src="${esc(ctx.base)}/assets/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
  <span class="brand">typeorm-sharepoint console</span>
  <nav aria-label="Pages"><ul>${nav
    .map(([id, path, label]) => {
      const href = id === 'workspaces' ? `${ctx.base}${path}` : link(ctx, path);
      return `<li><a href="${esc(href)}"${id === page ? ' aria-current="page"' : ''}>${esc(label)}</a></li>`;
    })
    .join('')}</ul></nav>
  <span class="who">${ctx.workspace ? `workspace <strong>${esc(ctx.workspace)}</strong> · ` : ''}${esc(ctx.principal.name)} (${esc(ctx.principal.role)})</span>
  ${
    ctx.canSignOut
      ? `<form method="post" action="${esc(ctx.base)}/logout" class="inline">${hidden(ctx)}<button type="submit">Sign out</button></form>`
      : ''
  }
</header>
<main id="main" tabindex="-1">
<h1>${esc(title)}</h1>
${ctx.flash ? `<p class="flash" role="status">${esc(ctx.flash)}</p>` : ''}
${body}
</main>
</body>
</html>`;
}

export function loginPage(base: string, error?: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in · typeorm-sharepoint console</title></head>
<body>
<main>
<h1>typeorm-sharepoint console</h1>
<p>Sign in with the console's access token.</p>
${error ? `<p role="alert">${esc(error)}</p>` : ''}
<form method="post" action="${esc(base)}/login">
  <label for="token">Access token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
  <button type="submit">Sign in</button>
</form>
</main>
</body>
</html>`;
}

export function duration(seconds: number): string {
  if (!seconds) return '–';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

/** A count (changes, records, resource units): a whole number, grouped by thousands. */
export const count = (n: number) => Math.round(n).toLocaleString('en-US');

function ago(iso: string | undefined, now: number): string {
  if (!iso) return 'never';
  return `${duration(Math.max(0, (now - Date.parse(iso)) / 1000))} ago`;
}

const clock = (t: number) => new Date(t).toISOString().slice(11, 16);

/**
 * A small line chart of the history collected (at most the last hour): the x axis runs from the first sample to
 * now, so a console started a minute ago draws a minute across the whole width. The latest value is said in
 * text too, formatted by `format` (counts are whole numbers).
 */
export function chart(
  label: string,
  points: { t: number; v: number }[],
  format: (v: number) => string,
  now: number,
): string {
  const width = 300;
  const height = 60;
  const highest = Math.max(0, ...points.map((p) => p.v));
  const max = Math.max(1, highest);
  const start = points[0]?.t ?? now;
  const span = Math.max(now, points.at(-1)?.t ?? now) - start;
  const x = (t: number) => (span > 0 ? Math.max(0, Math.min(width, ((t - start) / span) * width)) : width);
  const y = (v: number) => height - 2 - (v / max) * (height - 4);
  const line = points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
  const latest = points.at(-1)?.v ?? 0;
  const id = label.toLowerCase().replace(/[^a-z]+/g, '-');
  return `<figure class="chart" data-chart="${esc(id)}">
<figcaption id="chart-${id}">${esc(label)}: <strong data-figure="chart-${esc(id)}">${esc(format(latest))}</strong> <span class="muted">(since ${esc(clock(start))} UTC, max ${esc(format(highest))})</span></figcaption>
<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="chart-${id}">
<line x1="0" y1="${height - 1}" x2="${width}" y2="${height - 1}" class="axis"/>
${points.length > 1 ? `<polyline points="${line}" fill="none" class="line"/>` : points.length === 1 ? `<circle cx="${x(points[0]!.t)}" cy="${y(points[0]!.v)}" r="2" class="dot"/>` : ''}
</svg>
</figure>`;
}

function ratePoints(points: HistoryPoint[], pick: (p: HistoryPoint) => number): { t: number; v: number }[] {
  return points.map((p, i) => ({ t: p.t, v: History.perMinute(points, pick, i) }));
}

/** The budget's two figures against their limits (every process sharing the budget, when shared). */
function budgetCards(
  budget: NonNullable<OverviewFigures['budget']>,
  card: (id: string, label: string, value: string, note?: string, alert?: boolean, wide?: boolean) => string,
): string {
  const whose = budget.shared ? 'every process sharing the budget' : 'this process';
  const paused = budget.pausedUntil
    ? ` · paused until ${new Date(budget.pausedUntil).toISOString().slice(11, 19)} UTC`
    : '';
  return [
    card(
      'budget-minute',
      'RU used this minute / per-minute limit',
      `${count(budget.usedThisMinute)} / ${count(budget.resourceUnitsPerMinute)}`,
      `${whose}${paused}`,
      budget.usedThisMinute >= budget.resourceUnitsPerMinute,
      true,
    ),
    card(
      'budget-today',
      'RU used today (24 h) / daily limit',
      `${count(budget.usedToday)} / ${count(budget.resourceUnitsPerDay)}`,
      `${count(budget.remainingToday)} left`,
      budget.remainingToday <= 0,
      true,
    ),
  ].join('\n');
}

/** The live part of the overview (re-fetched by the page script). */
export function overviewFragment(ctx: PageContext, o: OverviewFigures): string {
  const now = Date.parse(o.generatedAt);
  const card = (id: string, label: string, value: string, note = '', alert = false, wide = false) =>
    `<div class="card${wide ? ' wide' : ''}${alert ? ' alert' : ''}"><div class="label">${esc(label)}</div><div class="value" data-figure="${esc(id)}">${esc(value)}</div>${note ? `<div class="note">${esc(note)}</div>` : ''}</div>`;
  const p = o.pendingByPriority;
  return `<section aria-labelledby="totals-h">
<h2 id="totals-h" class="sr-only">Totals</h2>
<div class="cards">
${card('pending', 'Pending', count(o.pending), `P0 ${p.P0 ?? 0} · P1 ${p.P1 ?? 0} · P2 ${p.P2 ?? 0} · P3 ${p.P3 ?? 0}`)}
${card('lag', 'Oldest pending', duration(o.lagSeconds))}
${card('sent', 'Sent / min', count(o.sentPerMinute), 'this process')}
${card('dead-letters', 'Dead letters', count(o.deadLetters), '', o.deadLetters > 0)}
${card('open-conflicts', 'Open conflicts', count(o.openConflicts), '', o.openConflicts > 0)}
${card('ru', 'Resource units / min', count(o.resourceUnitsPerMinute), `this process, ${count(o.totals.resourceUnits)} since attach`)}
${o.budget ? budgetCards(o.budget, card) : ''}
${card('throttled', 'Throttled', count(o.totals.throttled), `${count(o.throttledPerMinute)} in the last minute · this process`, o.throttledPerMinute > 0)}
</div>
</section>
<section aria-labelledby="charts-h">
<h2 id="charts-h">Last hour</h2>
<div class="charts">
${chart(
  'Pending',
  o.history.map((h) => ({ t: h.t, v: h.pending })),
  (v) => `${count(v)} changes`,
  now,
)}
${chart(
  'Lag',
  o.history.map((h) => ({ t: h.t, v: h.lagSeconds })),
  (v) => (v > 0 ? duration(v) : '0 s'),
  now,
)}
${chart(
  'RU per minute',
  ratePoints(o.history, (h) => h.resourceUnits),
  (v) => `${count(v)} RU/min`,
  now,
)}
</div>
</section>
<section aria-labelledby="lists-h">
<h2 id="lists-h">Lists</h2>
<table class="lists">
<thead><tr><th scope="col">List</th><th scope="col">Priority</th><th scope="col">Pending</th><th scope="col">Oldest pending</th><th scope="col">Sent / min</th><th scope="col">Dead letters</th><th scope="col">Open conflicts</th><th scope="col">Last load</th><th scope="col">Last pull</th><th scope="col">Items in SharePoint</th></tr></thead>
<tbody>
${o.lists
  .map(
    (l) => `<tr data-entity="${esc(l.entity)}">
<th scope="row">${esc(l.title)} <span class="muted">${esc(l.entity)}</span></th>
<td>${esc(l.priority)}</td>
<td data-figure="pending">${count(l.pending)}${l.held ? ` <span class="muted">(${count(l.held)} held)</span>` : ''}</td>
<td>${esc(duration(l.oldestSeconds))}</td>
<td data-figure="sent">${count(l.sentPerMinute)}</td>
<td>${l.deadLetters ? `<a href="${esc(link(ctx, '/dead-letters', { entity: l.entity }))}">${count(l.deadLetters)}</a>` : '0'}</td>
<td>${l.openConflicts ? `<a href="${esc(link(ctx, '/conflicts', { entity: l.entity }))}">${count(l.openConflicts)}</a>` : '0'}</td>
<td data-figure="last-load">${esc(lastLoad(l, now))}</td>
<td data-figure="last-pull">${esc(ago(l.lastPullAt, now))}</td>
<td data-figure="items">${count(l.itemCount)}</td>
</tr>`,
  )
  .join('\n')}
</tbody>
</table>
</section>
<p class="muted">Updated ${esc(new Date(now).toISOString().slice(11, 19))} UTC${o.writebackEnabled ? '' : ' · write-back is disabled'}.</p>`;
}

/** The last full load; a database from before migration 5 knows only the last load or pull, and says so. */
function lastLoad(l: OverviewFigures['lists'][number], now: number): string {
  if (l.lastLoadAt) return ago(l.lastLoadAt, now);
  if (l.refreshedAt && !l.lastPullAt) return `${ago(l.refreshedAt, now)} (load or pull)`;
  return l.lastPullAt ? 'not recorded' : 'never';
}

export function overviewBody(ctx: PageContext, o: OverviewFigures, refreshMs: number): string {
  return `<div id="live" data-live="${esc(link(ctx, '/live'))}" data-interval="${refreshMs}">${overviewFragment(ctx, o)}</div>`;
}

export function deadLettersBody(
  ctx: PageContext,
  letters: DeadLetter[],
  all: DeadLetter[],
  lists: { entity: string; title: string }[],
  filter: { entity?: string | undefined; error?: string | undefined },
): string {
  const counts = new Map<string, number>();
  for (const l of all) counts.set(l.entity, (counts.get(l.entity) ?? 0) + 1);
  const filterForm = `<form method="get" action="${esc(ctx.base)}/dead-letters" class="filters" role="search" aria-label="Filter dead letters">
${ctx.workspace ? `<input type="hidden" name="workspace" value="${esc(ctx.workspace)}">` : ''}
<label for="f-entity">List</label>
<select id="f-entity" name="entity"><option value="">all lists</option>${lists
    .map(
      (l) =>
        `<option value="${esc(l.entity)}"${filter.entity === l.entity ? ' selected' : ''}>${esc(l.title)} (${counts.get(l.entity) ?? 0})</option>`,
    )
    .join('')}</select>
<label for="f-error">Error contains</label>
<input id="f-error" name="error" type="search" value="${esc(filter.error ?? '')}">
<button type="submit">Filter</button>
</form>`;
  const bulk = canAct(ctx)
    ? [...counts.entries()]
        .filter(([entity]) => !filter.entity || filter.entity === entity)
        .map(
          ([entity, n]) => `<div class="bulk">
<form method="post" action="${esc(ctx.base)}/dead-letters/retry" class="inline">${hidden(ctx)}<input type="hidden" name="entity" value="${esc(entity)}"><button type="submit">Retry all ${n} of ${esc(entity)}</button></form>
<form method="post" action="${esc(ctx.base)}/dead-letters/discard" class="inline">${hidden(ctx)}<input type="hidden" name="entity" value="${esc(entity)}"><button type="submit" class="danger">Discard all ${n} of ${esc(entity)}…</button></form>
</div>`,
        )
        .join('\n')
    : '';
  const table = letters.length
    ? `<table class="dead-letters">
<thead><tr><th scope="col">Record</th><th scope="col">Operation</th><th scope="col">Error</th><th scope="col">Attempts</th><th scope="col">Failed</th>${canAct(ctx) ? '<th scope="col">Actions</th>' : ''}</tr></thead>
<tbody>
${letters
  .map(
    (l) => `<tr data-dead-letter="${l.id}">
<th scope="row">${esc(l.entity)} <code>${esc(l.twentyId)}</code></th>
<td>${esc(l.op)}</td>
<td class="error">${esc(l.error)}</td>
<td>${l.attempts}</td>
<td>${esc(new Date(l.failedAt).toISOString().replace('T', ' ').slice(0, 19))}</td>
${
  canAct(ctx)
    ? `<td class="actions">
<form method="post" action="${esc(ctx.base)}/dead-letters/retry" class="inline">${hidden(ctx)}<input type="hidden" name="id" value="${l.id}"><button type="submit" aria-label="Retry ${esc(l.entity)} ${esc(l.twentyId)}">Retry</button></form>
<form method="post" action="${esc(ctx.base)}/dead-letters/discard" class="inline">${hidden(ctx)}<input type="hidden" name="id" value="${l.id}"><button type="submit" class="danger" aria-label="Discard ${esc(l.entity)} ${esc(l.twentyId)}">Discard…</button></form>
</td>`
    : ''
}
</tr>`,
  )
  .join('\n')}
</tbody>
</table>`
    : '<p class="empty">No dead letters' +
      (filter.entity || filter.error ? ' match the filter' : '') +
      '.</p>';
  return `${filterForm}\n${bulk}\n${table}`;
}

export function confirmDiscardBody(
  ctx: PageContext,
  target: { id?: number | undefined; entity?: string | undefined },
  letters: DeadLetter[],
): string {
  return `<p role="alert">Discard ${letters.length} dead letter(s)? Their changes are <strong>never sent</strong>: the records keep their local state in PostgreSQL and SharePoint keeps its own (<code>verify</code> shows the difference).</p>
<ul>${letters.map((l) => `<li>${esc(l.entity)} <code>${esc(l.twentyId)}</code>: ${esc(l.error)}</li>`).join('')}</ul>
<form method="post" action="${esc(ctx.base)}/dead-letters/discard" class="inline">${hidden(ctx)}
${target.id !== undefined ? `<input type="hidden" name="id" value="${target.id}">` : ''}
${target.entity ? `<input type="hidden" name="entity" value="${esc(target.entity)}">` : ''}
<input type="hidden" name="confirm" value="yes">
<button type="submit" class="danger">Discard ${letters.length}</button>
</form>
<a href="${esc(link(ctx, '/dead-letters'))}">Cancel</a>`;
}

const show = (value: unknown) =>
  value === undefined
    ? '<span class="muted">(absent)</span>'
    : esc(typeof value === 'string' ? value : JSON.stringify(value));

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/**
 * Field names shown side by side: the union of both versions' fields, limited to the list's own columns when
 * known (SharePoint's version also carries system fields such as `@odata.etag`).
 */
export function conflictFields(c: Conflict, columns?: readonly string[]): string[] {
  const all = [...new Set([...Object.keys(c.local ?? {}), ...Object.keys(c.remote ?? {})])];
  const known = columns ? new Set(columns) : undefined;
  return all.filter((f) => (known ? known.has(f) : !f.startsWith('@'))).sort();
}

/** What the page showed of SharePoint's version: a newer one arriving before the form is sent refuses the merge. */
export function remoteVersionOf(c: Conflict): string {
  return createHash('sha256')
    .update(JSON.stringify(c.remote ?? null))
    .digest('base64url')
    .slice(0, 22);
}

/** The Graph field names of each synced list, by entity. */
export function columnsOf(sync: SharePointSync): Map<string, string[]> {
  return new Map(sync.lists.map((l) => [l.entityName, [l.idField.name, ...l.fields.map((f) => f.name)]]));
}

function conflictForm(ctx: PageContext, c: Conflict, columns?: readonly string[]): string {
  const fields = conflictFields(c, columns);
  const mergeable = c.local !== null && c.remote !== null && canAct(ctx);
  const rows = fields
    .map((f) => {
      const local = c.local?.[f];
      const remote = c.remote?.[f];
      const differs = !sameValue(local, remote);
      const pick =
        mergeable && differs
          ? `<td><fieldset class="pick"><legend class="sr-only">Keep for ${esc(f)}</legend>
<label><input type="radio" name="pick:${esc(f)}" value="sharepoint" checked> SharePoint</label>
<label><input type="radio" name="pick:${esc(f)}" value="local"> local</label></fieldset></td>`
          : mergeable
            ? '<td class="muted">same</td>'
            : '';
      return `<tr${differs ? ' class="diff"' : ''} data-field="${esc(f)}"><th scope="row">${esc(f)}${differs ? ' <span class="badge">differs</span>' : ''}</th><td>${show(c.local ? local : undefined)}</td><td>${show(c.remote ? remote : undefined)}</td>${pick}</tr>`;
    })
    .join('\n');
  const actions = canAct(ctx)
    ? `<div class="resolve">
<button type="submit" name="choice" value="sharepoint">Keep SharePoint's version</button>
<button type="submit" name="choice" value="local">Keep the local version</button>
${mergeable ? '<button type="submit" name="choice" value="merge">Merge the chosen fields</button>' : ''}
</div>`
    : '';
  return `<section class="conflict" data-conflict="${c.id}" aria-labelledby="conflict-${c.id}">
<h2 id="conflict-${c.id}">#${c.id} ${esc(c.entity)} <code>${esc(c.twentyId)}</code></h2>
<p class="muted">${esc(c.reason)} · detected ${esc(c.detectedAt.toISOString().replace('T', ' ').slice(0, 19))} · policy ${esc(c.policy)}</p>
<form method="post" action="${esc(ctx.base)}/conflicts/resolve">${hidden(ctx)}<input type="hidden" name="id" value="${c.id}"><input type="hidden" name="seen" value="${esc(remoteVersionOf(c))}">
<table class="versions">
<thead><tr><th scope="col">Field</th><th scope="col">Local${c.local ? '' : ' (deleted)'}</th><th scope="col">SharePoint${c.remote ? '' : ' (deleted)'}</th>${mergeable ? '<th scope="col">Keep</th>' : ''}</tr></thead>
<tbody>
${rows}
</tbody>
</table>
${actions}
</form>
</section>`;
}

export function conflictsBody(
  ctx: PageContext,
  open: Conflict[],
  resolved: Conflict[],
  columns: Map<string, string[]>,
  entity?: string,
): string {
  const history = resolved
    .slice(-50)
    .reverse()
    .map(
      (c) =>
        `<tr data-resolved="${c.id}"><th scope="row">#${c.id}</th><td>${esc(c.entity)} <code>${esc(c.twentyId)}</code></td><td>${esc(c.policy)}</td><td>${esc(c.resolution ?? '')}</td><td>${esc(c.resolvedAt ? c.resolvedAt.toISOString().replace('T', ' ').slice(0, 19) : '')}</td></tr>`,
    )
    .join('\n');
  return `${entity ? `<p>List <strong>${esc(entity)}</strong> · <a href="${esc(link(ctx, '/conflicts'))}">all lists</a></p>` : ''}
${open.length ? open.map((c) => conflictForm(ctx, c, columns.get(c.entity))).join('\n') : '<p class="empty">No open conflicts.</p>'}
<section aria-labelledby="history-h">
<h2 id="history-h">Resolved</h2>
${
  history
    ? `<table class="history"><thead><tr><th scope="col">Conflict</th><th scope="col">Record</th><th scope="col">Policy</th><th scope="col">Resolution</th><th scope="col">Resolved</th></tr></thead><tbody>${history}</tbody></table>`
    : '<p class="empty">None yet.</p>'
}
</section>`;
}

export interface WorkspaceRow {
  workspace: string;
  attached: boolean;
  /** Whether the workspace opens from the page (attached, or attached by opening it: `attachOnView`). */
  opens: boolean;
  /** From its figures, attached or not; 'not attached' when none could be read. */
  health: 'ok' | 'attention' | 'problem' | 'not attached';
  reason: string;
  pending?: number;
  lagSeconds?: number;
  deadLetters?: number;
  openConflicts?: number;
}

export function workspacesBody(ctx: PageContext, rows: WorkspaceRow[]): string {
  if (!rows.length) return '<p class="empty">No workspaces known yet.</p>';
  return `<table class="workspaces">
<thead><tr><th scope="col">Workspace</th><th scope="col">Health</th><th scope="col">Attached</th><th scope="col">Pending</th><th scope="col">Oldest pending</th><th scope="col">Dead letters</th><th scope="col">Open conflicts</th></tr></thead>
<tbody>
${rows
  .map(
    (r) => `<tr data-workspace="${esc(r.workspace)}">
<th scope="row">${r.opens ? `<a href="${esc(link({ base: ctx.base, workspace: r.workspace }, '/'))}">${esc(r.workspace)}</a>` : esc(r.workspace)}</th>
<td><span class="health ${esc(r.health.replace(' ', '-'))}">${esc(r.health)}</span>${r.reason ? ` <span class="muted">${esc(r.reason)}</span>` : ''}</td>
<td data-figure="attached">${r.attached ? 'yes' : 'no'}</td>
<td data-figure="pending">${r.pending === undefined ? '–' : count(r.pending)}</td>
<td data-figure="lag">${r.lagSeconds === undefined ? '–' : esc(duration(r.lagSeconds))}</td>
<td data-figure="dead-letters">${r.deadLetters === undefined ? '–' : count(r.deadLetters)}</td>
<td data-figure="open-conflicts">${r.openConflicts === undefined ? '–' : count(r.openConflicts)}</td>
</tr>`,
  )
  .join('\n')}
</tbody>
</table>`;
}

export function messagePage(title: string, message: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title></head><body><main><h1>${esc(title)}</h1><p>${esc(message)}</p></main></body></html>`;
}
