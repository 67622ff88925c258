import type { ResourceBudget } from './budget.js';
import { emulatorCost } from './cost.js';
import { badRequest, faultError, GraphErrorResponse, graphErrorBody, notFound } from './errors.js';
import type { FaultRegistry } from './faults.js';
import { evaluateFilter, FilterSyntaxError, filterFields, parseFilter } from './filter.js';
import type { SeededRandom } from './random.js';
import { clean, columnJson, deletedItemJson, itemJson, listJson, siteJson } from './shapes.js';
import { type EmulatorState, formatDate, itemETag, type ListRecord, type SiteRecord } from './state.js';
import type { SubscriptionService } from './subscriptions.js';
import type { EmulatorRequest, EmulatorResponse, RequestLogEntry } from './types.js';

/** Graph answers `$batch` with at most this many requests. */
const MAX_BATCH = 20;
const PREFER_NON_INDEXED = 'honornonindexedquerieswarningmayfailrandomly';

export interface DispatchSettings {
  defaultPageSize: number;
  maxPageSize: number;
  listViewThreshold: number;
  shuffleBatchResponses: boolean;
  deltaRepeatProbability: number;
  latencyMs: number;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body?: unknown;
  /** Plain text body (validation echoes and the like). */
  text?: string;
}

interface Parsed {
  method: string;
  /** Path without `/v1.0`, decoded, no query. */
  path: string;
  query: URLSearchParams;
  rawQuery: string;
  headers: Record<string, string>;
  body: unknown;
  /** Origin + `/v1.0` of the request (for nextLink / deltaLink). */
  base: string;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Answer {
  return { status, headers: { 'Content-Type': 'application/json', ...headers }, body };
}

function lower(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return out;
}

/** Delta tokens carry the list, the change sequence they start after, and the list's token epoch. */
function encodeToken(token: { l: string; s: number; e: number }): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}
function decodeToken(value: string): { l: string; s: number; e: number } | undefined {
  try {
    const t = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    return typeof t.l === 'string' && typeof t.s === 'number' && typeof t.e === 'number' ? t : undefined;
  } catch {
    return undefined;
  }
}

/** `fields($select=A,B)` or `fields` inside `$expand`. */
/** OData system query options Graph v1.0 accepts with or without their `$` (query-parameters.md). */
const SYSTEM_OPTIONS = [
  'select',
  'expand',
  'filter',
  'top',
  'orderby',
  'skiptoken',
  'count',
  'search',
  'skip',
];

/**
 * The query with every system option under its `$` name: Graph's own examples write `expand=fields` and
 * `select=…` (listitem-get.md, list-get.md), and v1.0 treats them as `$expand`, `$select`. Nested options
 * (`fields(select=A,B)`) get their `$` too. A `$` form given as well wins.
 */
function odataQuery(query: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const [key, value] of query) {
    const bare = SYSTEM_OPTIONS.includes(key.toLowerCase()) ? `$${key.toLowerCase()}` : key;
    if (bare !== key && query.has(bare)) continue;
    const nested =
      bare === '$expand' ? value.replace(/\(\s*(select|filter|top|expand)\s*=/gi, '($$$1=') : value;
    out.append(bare, nested);
  }
  return out;
}

function parseExpand(expand: string | null): { fields: boolean; select?: string[]; columns: boolean } {
  if (!expand) return { fields: false, columns: false };
  const columns = /(^|,)\s*columns\b/.test(expand);
  const m = /fields(?:\(\s*\$select\s*=\s*([^)]*)\))?/i.exec(expand);
  if (!m) return { fields: false, columns };
  const select = m[1]
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return { fields: true, columns, ...(select?.length ? { select } : {}) };
}

/** `$select=a,b` as lower-cased names, or undefined when absent. */
function parseSelect(query: URLSearchParams): Set<string> | undefined {
  const raw = query.get('$select');
  if (raw === null) return undefined;
  const names = raw
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (names.length === 0) throw badRequest("Invalid $select value ''.");
  return new Set(names);
}

/**
 * Top-level `$select`: keeps the selected properties, `@odata.*` annotations and the expanded navigation
 * properties (`columns`, `fields`), as Graph does.
 */
function selected(value: Record<string, unknown>, select: Set<string> | undefined): Record<string, unknown> {
  if (!select) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key.startsWith('@odata.') || key === 'columns' || key === 'fields' || select.has(key.toLowerCase()))
      out[key] = v;
  }
  return out;
}

/** `delta(token='…')` (the function-call form) → the token, else undefined. */
function functionToken(segment: string | undefined): string | undefined {
  const m = /^delta\(\s*token\s*=\s*'((?:[^']|'')*)'\s*\)$/i.exec(segment ?? '');
  return m ? m[1]!.replace(/''/g, "'") : undefined;
}

/**
 * The transport-free Graph: one request in, one answer out. The msw handlers and the loopback server both
 * call `handle`; state, faults, budget and log live here, apart from the transport (as msw does it).
 */
export class Dispatcher {
  readonly log: RequestLogEntry[] = [];
  private batchCounter = 0;

  constructor(
    private readonly state: EmulatorState,
    private readonly faults: FaultRegistry,
    private readonly budget: ResourceBudget,
    private readonly subscriptions: SubscriptionService,
    private readonly random: SeededRandom,
    private readonly settings: DispatchSettings,
    private readonly now: () => number,
  ) {}

  async handle(request: EmulatorRequest): Promise<EmulatorResponse> {
    const url = new URL(request.url);
    // Graph serves `/v1.0` (and `/beta`); anything else, or a path that does not decode, is a 400 as there.
    const version = /^(.*?)\/v1\.0(\/.*)?$/.exec(url.pathname);
    let path: string | undefined;
    try {
      path = version ? decodeURIComponent(version[2] ?? '/') : undefined;
    } catch {
      path = undefined;
    }
    if (path === undefined || !version) {
      const shown = url.pathname.split('/').filter(Boolean)[0] ?? '';
      this.log.push({
        at: this.now(),
        method: request.method.toUpperCase(),
        path: url.pathname,
        query: url.search.replace(/^\?/, ''),
        status: 400,
        resourceUnits: 0,
        inBatch: false,
        throttled: false,
      });
      return this.toResponse(
        this.errorAnswer(
          badRequest(version ? `Invalid request path '${url.pathname}'.` : `Invalid version: ${shown}`),
        ),
      );
    }
    const parsed: Parsed = {
      method: request.method.toUpperCase(),
      path,
      query: odataQuery(url.searchParams),
      rawQuery: url.search.replace(/^\?/, ''),
      headers: lower(request.headers),
      body: undefined,
      base: `${url.origin}${version[1]}/v1.0`,
    };
    if (this.settings.latencyMs > 0) await delay(this.settings.latencyMs);
    const effects = this.faults.evaluate(parsed.method, path, 'request');
    if (effects.latencyMs > 0) await delay(effects.latencyMs);
    const entry: RequestLogEntry = {
      at: this.now(),
      method: parsed.method,
      path,
      query: parsed.rawQuery,
      status: 0,
      resourceUnits: 0,
      inBatch: false,
      throttled: false,
      ...(effects.description ? { fault: effects.description } : {}),
    };
    this.log.push(entry);
    if (effects.drop) return { drop: true };
    if (effects.status !== undefined) {
      const answer = this.errorAnswer(faultError(effects.status, effects.retryAfterSeconds));
      entry.status = answer.status;
      entry.throttled = answer.status === 429 || answer.status === 503;
      return this.toResponse(answer);
    }
    let answer: Answer;
    try {
      if (request.body !== undefined && request.body !== '') {
        try {
          parsed.body = JSON.parse(request.body);
        } catch {
          throw badRequest('The request body is not valid JSON.');
        }
      }
      if (parsed.method === 'POST' && path === '/$batch') {
        answer = await this.batch(parsed);
      } else {
        answer = await this.charged(parsed, entry);
      }
    } catch (error) {
      answer = this.errorAnswer(error);
    }
    entry.status = answer.status;
    if (effects.lostResponse) return { drop: true };
    return this.toResponse(answer);
  }

  private toResponse(answer: Answer): EmulatorResponse {
    const headers = {
      'request-id': this.random.guid(),
      ...this.budget.headers(),
      ...answer.headers,
    };
    if (answer.text !== undefined)
      return {
        status: answer.status,
        headers: { ...headers, 'Content-Type': 'text/plain' },
        body: answer.text,
      };
    if (answer.body === undefined) return { status: answer.status, headers };
    return {
      status: answer.status,
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify(answer.body),
    };
  }

  private errorAnswer(error: unknown): Answer {
    if (error instanceof FilterSyntaxError) error = badRequest(`Invalid filter clause: ${error.message}`);
    if (error instanceof GraphErrorResponse) {
      return json(
        error.status,
        graphErrorBody(
          error.code,
          error.message,
          this.random.guid(),
          this.random.guid(),
          new Date(this.now()).toISOString(),
        ),
        error.headers,
      );
    }
    return json(
      500,
      graphErrorBody(
        'generalException',
        String(error),
        this.random.guid(),
        this.random.guid(),
        new Date(this.now()).toISOString(),
      ),
    );
  }

  /** Charges the request's resource units, then routes it; a spent budget answers 429 with Retry-After. */
  private async charged(parsed: Parsed, entry: RequestLogEntry): Promise<Answer> {
    const units = emulatorCost({ method: parsed.method, path: parsed.path, query: parsed.query });
    entry.resourceUnits = units;
    const charge = this.budget.charge(units);
    if (charge.throttled) {
      entry.throttled = true;
      throw faultError(429, charge.retryAfterSeconds);
    }
    return this.route(parsed);
  }

  private async batch(parsed: Parsed): Promise<Answer> {
    const body = parsed.body as { requests?: unknown } | undefined;
    const requests = body?.requests;
    if (!Array.isArray(requests)) throw badRequest("A $batch body needs a 'requests' array.");
    if (requests.length > MAX_BATCH)
      throw badRequest(`Number of batch request steps exceeds the maximum value of ${MAX_BATCH}.`);
    const ids = new Set<string>();
    for (const r of requests) {
      const id = (r as { id?: unknown }).id;
      if (typeof id !== 'string' || id === '') throw badRequest('Every batch request needs a string id.');
      // json-batching.md: ids are case-insensitive and unique in one envelope ('a' and 'A' collide).
      if (ids.has(id.toLowerCase())) throw badRequest(`Batch request id '${id}' is used twice.`);
      ids.add(id.toLowerCase());
      // Graph validates the whole envelope: a write with a body and no Content-Type fails every request.
      const { body: innerBody, headers: innerHeaders } = r as { body?: unknown; headers?: unknown };
      const hasType =
        typeof innerHeaders === 'object' &&
        innerHeaders !== null &&
        Object.keys(innerHeaders).some((k) => k.toLowerCase() === 'content-type');
      if (innerBody !== undefined && innerBody !== null && !hasType)
        throw new GraphErrorResponse(
          400,
          'BadRequest',
          `Write request with id '${id}' does not contain a Content-Type header.`,
        );
    }
    const batchId = `batch-${++this.batchCounter}`;
    const statuses = new Map<string, number>();
    const responses: Record<string, unknown>[] = [];
    for (const raw of requests as Record<string, unknown>[]) {
      const id = raw.id as string;
      const depends = Array.isArray(raw.dependsOn) ? (raw.dependsOn as string[]) : [];
      let answer: Answer;
      if (depends.some((d) => (statuses.get(d) ?? 424) >= 400)) {
        answer = json(
          424,
          graphErrorBody(
            'failedDependency',
            'A request this request depends on failed.',
            this.random.guid(),
            this.random.guid(),
            new Date(this.now()).toISOString(),
          ),
        );
      } else {
        answer = await this.inner(parsed, raw, batchId);
      }
      statuses.set(id, answer.status);
      responses.push({
        id,
        status: answer.status,
        headers: answer.headers,
        ...(answer.body !== undefined ? { body: answer.body } : {}),
      });
    }
    const ordered = this.settings.shuffleBatchResponses ? this.random.shuffle(responses) : responses;
    return json(200, { responses: ordered });
  }

  private async inner(outer: Parsed, raw: Record<string, unknown>, batchId: string): Promise<Answer> {
    const method = String(raw.method ?? 'GET').toUpperCase();
    const relative = String(raw.url ?? '');
    const url = new URL(relative.startsWith('/') ? `${outer.base}${relative}` : `${outer.base}/${relative}`);
    const path = decodeURIComponent(url.pathname.slice(url.pathname.indexOf('/v1.0') + 5)) || '/';
    const parsed: Parsed = {
      method,
      path,
      query: odataQuery(url.searchParams),
      rawQuery: url.search.replace(/^\?/, ''),
      headers: lower((raw.headers as Record<string, string>) ?? {}),
      body: raw.body,
      base: outer.base,
    };
    const effects = this.faults.evaluate(method, path, 'inner');
    const entry: RequestLogEntry = {
      at: this.now(),
      method,
      path,
      query: parsed.rawQuery,
      status: 0,
      resourceUnits: 0,
      inBatch: true,
      batchId,
      throttled: false,
      ...(effects.description ? { fault: effects.description } : {}),
    };
    this.log.push(entry);
    let answer: Answer;
    if (effects.latencyMs > 0) await delay(effects.latencyMs);
    if (effects.status !== undefined) {
      answer = this.errorAnswer(faultError(effects.status, effects.retryAfterSeconds));
      entry.throttled = answer.status === 429 || answer.status === 503;
    } else if (effects.drop) {
      answer = this.errorAnswer(faultError(504));
    } else {
      try {
        answer = await this.charged(parsed, entry);
      } catch (error) {
        answer = this.errorAnswer(error);
      }
      if (effects.lostResponse) answer = this.errorAnswer(faultError(504));
    }
    entry.status = answer.status;
    return answer;
  }

  // ------------------------------------------------------------------ routing

  private async route(p: Parsed): Promise<Answer> {
    const segments = p.path.split('/').filter(Boolean);
    if (segments[0] === 'subscriptions') return this.subscriptionRoute(p, segments.slice(1));
    if (segments[0] !== 'sites' || segments.length < 2)
      throw notFound(`Resource not found for the segment '${segments[0] ?? ''}'.`);

    // /sites/{hostname}:/{path}[:] — path addressing takes the rest of the URL.
    const rest = p.path.slice('/sites/'.length);
    const colon = rest.indexOf(':');
    const slash = rest.indexOf('/');
    let site: SiteRecord | undefined;
    let tail: string[];
    if (colon > 0 && (slash === -1 || colon < slash)) {
      const hostname = rest.slice(0, colon);
      let sitePath = rest.slice(colon + 1);
      const end = sitePath.indexOf(':', 1);
      let after = '';
      if (end > 0) {
        after = sitePath.slice(end + 1);
        sitePath = sitePath.slice(0, end);
      }
      site = this.state.findSiteByPath(hostname, sitePath.replace(/\/+$/, '') || '/');
      if (!site) throw notFound('Requested site could not be found');
      tail = after.split('/').filter(Boolean);
    } else {
      site = this.state.findSiteById(segments[1]!);
      if (!site) throw notFound('Requested site could not be found');
      tail = segments.slice(2);
    }
    if (tail.length === 0) {
      if (p.method !== 'GET') throw methodNotAllowed();
      return json(200, selected(clean(siteJson(site)), parseSelect(p.query)));
    }
    if (tail[0] !== 'lists') throw notFound(`Resource not found for the segment '${tail[0]}'.`);
    if (tail.length === 1) return this.listsRoute(p, site);
    const list = this.state.findList(site, tail[1]!);
    if (!list)
      throw notFound(
        `List '${tail[1]}' does not exist at site with URL 'https://${site.hostname}${site.path}'.`,
      );
    return this.listRoute(p, list, tail.slice(2));
  }

  private listsRoute(p: Parsed, site: SiteRecord): Answer {
    if (p.method === 'POST') {
      const list = this.state.createList(site, (p.body ?? {}) as Record<string, unknown>);
      return json(201, clean(listJson(list, true)));
    }
    if (p.method !== 'GET') throw methodNotAllowed();
    const expand = parseExpand(p.query.get('$expand'));
    let lists = site.lists;
    const filter = p.query.get('$filter');
    if (filter) {
      const node = parseFilter(filter, ['displayName', 'name']);
      lists = lists.filter((l) =>
        evaluateFilter(node, (name) =>
          name === 'displayName'
            ? l.displayName
            : name === 'name'
              ? l.name
              : name === 'id'
                ? l.id
                : undefined,
        ),
      );
    }
    const select = parseSelect(p.query);
    return json(200, { value: lists.map((l) => selected(clean(listJson(l, expand.columns)), select)) });
  }

  private listRoute(p: Parsed, list: ListRecord, tail: string[]): Answer {
    if (tail.length === 0) {
      if (p.method !== 'GET') throw methodNotAllowed();
      return json(
        200,
        selected(clean(listJson(list, parseExpand(p.query.get('$expand')).columns)), parseSelect(p.query)),
      );
    }
    if (tail[0] === 'columns') {
      if (tail.length === 1) {
        if (p.method === 'POST') return json(201, clean(columnJson(this.state.createColumn(list, p.body))));
        if (p.method !== 'GET') throw methodNotAllowed();
        const select = parseSelect(p.query);
        return json(200, { value: list.columns.map((c) => selected(clean(columnJson(c)), select)) });
      }
      const column = this.state.findColumn(list, tail[1]!);
      if (!column) throw notFound(`Column '${tail[1]}' does not exist.`);
      if (p.method === 'GET') return json(200, selected(clean(columnJson(column)), parseSelect(p.query)));
      if (p.method === 'PATCH')
        return json(200, clean(columnJson(this.state.updateColumn(list, column, p.body))));
      if (p.method === 'DELETE') {
        // columndefinition-delete.md: 204 No Content.
        this.state.deleteColumn(list, column);
        return { status: 204, headers: {} };
      }
      throw methodNotAllowed();
    }
    if (tail[0] !== 'items') throw notFound(`Resource not found for the segment '${tail[0]}'.`);
    if (tail.length === 1) {
      if (p.method === 'POST') {
        const body = p.body as { fields?: unknown } | undefined;
        const item = this.state.createItem(list, body?.fields);
        return json(201, clean(itemJson(list, item, { expand: true })));
      }
      if (p.method !== 'GET') throw methodNotAllowed();
      return this.listItems(p, list);
    }
    if (tail[1] === 'delta' || tail[1]?.startsWith('delta(')) {
      if (p.method !== 'GET') throw methodNotAllowed();
      return this.delta(p, list);
    }
    const itemId = tail[1]!;
    if (tail.length === 2) {
      if (p.method === 'GET') {
        const expand = parseExpand(p.query.get('$expand'));
        return json(
          200,
          selected(
            clean(
              itemJson(list, this.state.requireItem(list, itemId), {
                expand: expand.fields,
                ...(expand.select ? { select: expand.select } : {}),
              }),
            ),
            parseSelect(p.query),
          ),
        );
      }
      if (p.method === 'DELETE') {
        this.state.deleteItem(list, itemId, p.headers['if-match']);
        return { status: 204, headers: {} };
      }
      if (p.method === 'PATCH') {
        const body = p.body as { fields?: unknown } | undefined;
        const item = this.state.updateItem(list, itemId, body?.fields ?? {}, p.headers['if-match']);
        return json(200, clean(itemJson(list, item, { expand: true })));
      }
      throw methodNotAllowed();
    }
    if (tail[2] === 'fields' && tail.length === 3) {
      if (p.method === 'PATCH') {
        const item = this.state.updateItem(list, itemId, p.body, p.headers['if-match']);
        return json(200, clean(itemJson(list, item, { expand: true })).fields);
      }
      if (p.method === 'GET')
        return json(
          200,
          clean(itemJson(list, this.state.requireItem(list, itemId), { expand: true })).fields,
        );
      throw methodNotAllowed();
    }
    throw notFound(`Resource not found for the segment '${tail[2]}'.`);
  }

  private pageSize(p: Parsed): number {
    const top = p.query.get('$top');
    if (top === null) return this.settings.defaultPageSize;
    const n = Number(top);
    if (!Number.isInteger(n) || n < 1) throw badRequest(`Invalid $top value '${top}'.`);
    return Math.min(n, this.settings.maxPageSize);
  }

  private listItems(p: Parsed, list: ListRecord): Answer {
    const expand = parseExpand(p.query.get('$expand'));
    let items = [...list.items.values()].sort((a, b) => a.id - b.id);
    const filter = p.query.get('$filter');
    if (filter) {
      const node = parseFilter(filter);
      for (const name of filterFields(node)) {
        const field = name.replace(/^fields\//, '');
        if (field === 'id') continue;
        const column = list.columns.find((c) => c.name.toLowerCase() === field.toLowerCase());
        if (!column) throw badRequest(`Field '${field}' is not recognized.`);
        if (!column.indexed) {
          const prefer = (p.headers.prefer ?? '').toLowerCase();
          if (!prefer.includes(PREFER_NON_INDEXED)) {
            throw badRequest(
              `Field '${field}' cannot be referenced in filter or orderby as it is not indexed. Provide the 'Prefer: HonorNonIndexedQueriesWarningMayFailRandomly' header to allow this, but be warned that such queries may fail on large lists.`,
            );
          }
          if (list.items.size > this.settings.listViewThreshold) {
            throw new GraphErrorResponse(
              400,
              'invalidRequest',
              'The attempted operation is prohibited because it exceeds the list view threshold.',
            );
          }
        }
      }
      items = items.filter((item) =>
        evaluateFilter(node, (name) => {
          const field = name.replace(/^fields\//, '');
          if (field === 'id') return String(item.id);
          const key = Object.keys(item.fields).find((k) => k.toLowerCase() === field.toLowerCase());
          return key === undefined ? null : item.fields[key];
        }),
      );
    }
    const size = this.pageSize(p);
    // SharePoint pages by item id (`Paged=TRUE&p_ID=<last id>`, base64): an item deleted or added between
    // two pages shifts nothing, unlike an offset.
    const skipToken = p.query.get('$skiptoken');
    let afterId = 0;
    if (skipToken !== null) {
      const m = /^Paged=TRUE&p_ID=(\d+)$/.exec(Buffer.from(skipToken, 'base64url').toString('utf8'));
      if (!m) throw badRequest(`Invalid $skiptoken '${skipToken}': follow @odata.nextLink as given.`);
      afterId = Number(m[1]);
    }
    const start = afterId === 0 ? 0 : items.findIndex((item) => item.id > afterId);
    const rest = start === -1 ? [] : items.slice(start);
    const page = rest.slice(0, size);
    const select = parseSelect(p.query);
    const body: Record<string, unknown> = {
      value: page.map((item) =>
        selected(
          clean(
            itemJson(list, item, {
              expand: expand.fields,
              ...(expand.select ? { select: expand.select } : {}),
            }),
          ),
          select,
        ),
      ),
    };
    if (rest.length > size) {
      const next = new URLSearchParams(p.query);
      next.set('$skiptoken', Buffer.from(`Paged=TRUE&p_ID=${page.at(-1)!.id}`).toString('base64url'));
      body['@odata.nextLink'] = `${p.base}${p.path}?${next.toString()}`;
    }
    return json(200, body);
  }

  /**
   * Delta: without a token every item (paged), ending with a deltaLink; with one only what changed since,
   * deletions with the `deleted` facet. An entry may be repeated (seeded), as Graph's feed may.
   */
  private delta(p: Parsed, list: ListRecord): Answer {
    const tokenParam =
      functionToken(p.path.split('/').at(-1)) ?? p.query.get('token') ?? p.query.get('$deltatoken');
    let since = 0;
    let upto = this.state.currentSequence;
    // Links always use the `delta?token=…` form, whichever form this request used.
    const feedPath = p.path.replace(/\/delta\([^/]*\)$/i, '/delta');
    if (tokenParam === 'latest') {
      // listitem-delta.md, example 3: no items, only the deltaLink of now.
      const link = new URLSearchParams();
      if (p.query.get('$expand')) link.set('$expand', p.query.get('$expand')!);
      link.set('token', encodeToken({ l: list.id, s: upto, e: list.tokenEpoch }));
      return json(200, { value: [], '@odata.deltaLink': `${p.base}${feedPath}?${link.toString()}` });
    }
    if (tokenParam !== null) {
      const token = decodeToken(tokenParam);
      if (!token || token.l !== list.id || token.e !== list.tokenEpoch) {
        // listitem-delta.md: 410 with a documented resync code and a Location that starts a fresh
        // enumeration. The server kept no local changes of the client, so "apply the differences".
        const restart = new URLSearchParams();
        if (p.query.get('$expand')) restart.set('$expand', p.query.get('$expand')!);
        const query = restart.toString();
        throw new GraphErrorResponse(
          410,
          'resyncChangesApplyDifferences',
          'The delta token is expired or invalid; start a full resync.',
          { Location: `${p.base}${feedPath}${query ? `?${query}` : ''}` },
        );
      }
      since = token.s;
    }
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
    const expand = parseExpand(p.query.get('$expand'));
    // Order the feed by change sequence, then build JSON for this page only (a 100,000-item list would
    // otherwise be serialised once per page).
    type Entry = { seq: number; itemId: number; deleted: boolean };
    const entries: Entry[] = [];
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
    const size = this.pageSize(p);
    const select = expand.select ? { select: expand.select } : {};
    const served = entries.slice(0, size);
    const page: Record<string, unknown>[] = served.map((e) => {
      const item = e.deleted ? undefined : list.items.get(e.itemId);
      return item
        ? itemJson(list, item, { expand: expand.fields, ...select })
        : deletedItemJson(list, e.itemId);
    });
    if (page.length > 0 && this.random.chance(this.settings.deltaRepeatProbability)) {
      page.push(page[Math.floor(this.random.next() * page.length)]!);
    }
    const body: Record<string, unknown> = { value: page };
    if (entries.length > size) {
      const next = new URLSearchParams(p.query);
      if (tokenParam !== null && !next.has('token') && !next.has('$deltatoken'))
        next.set('token', tokenParam);
      next.set('$skiptoken', `${served.at(-1)!.seq}.${upto}`);
      body['@odata.nextLink'] = `${p.base}${feedPath}?${next.toString()}`;
    } else {
      const link = new URLSearchParams();
      if (p.query.get('$expand')) link.set('$expand', p.query.get('$expand')!);
      link.set('token', encodeToken({ l: list.id, s: upto, e: list.tokenEpoch }));
      body['@odata.deltaLink'] = `${p.base}${feedPath}?${link.toString()}`;
    }
    return json(200, body);
  }

  private async subscriptionRoute(p: Parsed, tail: string[]): Promise<Answer> {
    if (tail.length === 0) {
      if (p.method === 'POST') {
        const record = await this.subscriptions.create(p.body);
        return json(201, this.subscriptions.toJson(record));
      }
      if (p.method === 'GET')
        return json(200, { value: this.subscriptions.list().map((r) => this.subscriptions.toJson(r)) });
      throw methodNotAllowed();
    }
    const id = tail[0]!;
    if (p.method === 'GET') return json(200, this.subscriptions.toJson(this.subscriptions.get(id)));
    if (p.method === 'PATCH')
      return json(200, this.subscriptions.toJson(this.subscriptions.update(id, p.body)));
    if (p.method === 'DELETE') {
      this.subscriptions.delete(id);
      return { status: 204, headers: {} };
    }
    throw methodNotAllowed();
  }
}

function methodNotAllowed(): GraphErrorResponse {
  return new GraphErrorResponse(405, 'methodNotAllowed', 'The HTTP method is not allowed on this resource.');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export { formatDate, itemETag };
