import { badRequest, GraphErrorResponse } from '../../errors.js';
import { deletedItemJson, itemJson } from '../../shapes.js';
import type { ListRecord } from '../../store/records.js';
import { json, type Parsed, pageSize, parseExpand, parseSelect, selected } from '../request.js';
import type { Route, RouteContext } from '../route.js';

/** Delta tokens carry the list, the change sequence they start after, and the list's token epoch. */
interface DeltaToken {
  l: string;
  s: number;
  e: number;
}

function encodeToken(token: DeltaToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeToken(value: string): DeltaToken | undefined {
  try {
    const t = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    return typeof t.l === 'string' && typeof t.s === 'number' && typeof t.e === 'number' ? t : undefined;
  } catch {
    return undefined;
  }
}

/** `delta(token='…')` (the function-call form) → the token, else undefined. */
function functionToken(segment: string | undefined): string | undefined {
  const m = /^delta\(\s*token\s*=\s*'((?:[^']|'')*)'\s*\)$/i.exec(segment ?? '');
  return m ? m[1]!.replace(/''/g, "'") : undefined;
}

/** `…/items/delta?<query>`: links always use this form, whichever form the request used. */
function feedLink(p: Parsed, query: URLSearchParams): string {
  const feedPath = p.path.replace(/\/delta\([^/]*\)$/i, '/delta');
  const text = query.toString();
  return `${p.base}${feedPath}${text ? `?${text}` : ''}`;
}

/**
 * The query options a delta link carries on: delta-query-overview.md, "the state tokens also encode and include
 * other query parameters (such as `$select`) specified in the initial delta query request".
 */
function carried(p: Parsed): URLSearchParams {
  const options = new URLSearchParams();
  for (const name of ['$select', '$expand', '$top']) {
    const value = p.query.get(name);
    if (value) options.set(name, value);
  }
  return options;
}

/** The deltaLink of `upto`: the request's query options and a token. */
function deltaLink(p: Parsed, list: ListRecord, upto: number): string {
  const link = carried(p);
  link.set('token', encodeToken({ l: list.id, s: upto, e: list.tokenEpoch }));
  return feedLink(p, link);
}

/** The change sequence a token starts after; 410 for a token this list did not issue or that expired. */
function tokenStart(p: Parsed, list: ListRecord, tokenParam: string): number {
  const token = decodeToken(tokenParam);
  if (token && token.l === list.id && token.e === list.tokenEpoch) return token.s;
  // listitem-delta.md: 410 with a documented resync code and a Location that starts a fresh
  // enumeration. The server kept no local changes of the client, so "apply the differences".
  const restart = carried(p);
  throw new GraphErrorResponse(
    410,
    'resyncChangesApplyDifferences',
    'The delta token is expired or invalid; start a full resync.',
    {
      Location: feedLink(p, restart),
    },
  );
}

/**
 * Delta (listitem-delta.md): without a token every item (paged), ending with a deltaLink; with one only what
 * changed since, deletions with the `deleted` facet; `token=latest` only the deltaLink of now. An entry may
 * be repeated (seeded), as Graph's feed may.
 */
function delta({ state, list, request: p, settings, random }: RouteContext) {
  const tokenParam =
    functionToken(p.path.split('/').at(-1)) ?? p.query.get('token') ?? p.query.get('$deltatoken');
  let upto = state.currentSequence;
  // listitem-delta.md, example 3: no items, only the deltaLink of now.
  if (tokenParam === 'latest') return json(200, { value: [], '@odata.deltaLink': deltaLink(p, list, upto) });
  const since = tokenParam === null ? 0 : tokenStart(p, list, tokenParam);
  // A page continues after the last change sequence it served, up to the sequence the pass started at
  // (`<after>.<upto>`): an item changed while the pass pages moves past `upto` and comes with the next
  // delta instead of shifting the remaining pages.
  const skipParam = p.query.get('$skiptoken');
  let afterSeq = since;
  if (skipParam !== null) {
    const m = /^(\d+)\.(\d+)$/.exec(skipParam);
    if (!m) throw badRequest(`Invalid $skiptoken '${skipParam}': follow @odata.nextLink as given.`);
    afterSeq = Math.max(since, Number(m[1]));
    upto = Number(m[2]);
  }
  // Order the feed by change sequence, then build JSON for this page only (a 100,000-item list would
  // otherwise be serialised once per page).
  const entries: Array<{ seq: number; itemId: number; deleted: boolean }> = [];
  for (const item of list.items.values()) {
    if (item.seq > afterSeq && item.seq <= upto)
      entries.push({ seq: item.seq, itemId: item.id, deleted: false });
  }
  // Deletions only matter to someone who saw the item: a feed continuing from a token.
  if (tokenParam !== null) {
    for (const [id, seq] of list.tombstones) {
      if (seq > afterSeq && seq <= upto) entries.push({ seq, itemId: id, deleted: true });
    }
  }
  entries.sort((a, b) => a.seq - b.seq);
  const size = pageSize(p.query, settings);
  const expand = parseExpand(p.query.get('$expand'));
  const fields = { expand: expand.fields, ...(expand.select ? { select: expand.select } : {}) };
  // listitem-delta.md: `$select` narrows the entries; a deleted entry keeps what says it is gone.
  const select = parseSelect(p.query);
  const served = entries.slice(0, size);
  const page: Record<string, unknown>[] = served.map((e) => {
    const item = e.deleted ? undefined : list.items.get(e.itemId);
    return item ? selected(itemJson(list, item, fields), select) : deletedItemJson(list, e.itemId);
  });
  if (page.length > 0 && random.chance(settings.deltaRepeatProbability)) {
    page.push(page[Math.floor(random.next() * page.length)]!);
  }
  const body: Record<string, unknown> = { value: page };
  if (entries.length > size) {
    const next = new URLSearchParams(p.query);
    if (tokenParam !== null && !next.has('token') && !next.has('$deltatoken')) next.set('token', tokenParam);
    next.set('$skiptoken', `${served.at(-1)!.seq}.${upto}`);
    body['@odata.nextLink'] = feedLink(p, next);
  } else {
    body['@odata.deltaLink'] = deltaLink(p, list, upto);
  }
  return { ...json(200, body), items: page.length };
}

/** `…/items/delta` and `…/items/delta(token='…')` (the literal matches the function-call form). */
export const deltaRoutes: Route[] = [
  { path: '/sites/{site}/lists/{list}/items/delta', methods: { GET: delta } },
];
