import { badRequest, GraphErrorResponse } from '../errors.js';

/** One request as the routes see it: method, decoded path below `/v1.0`, OData query with its `$` names. */
export interface Parsed {
  method: string;
  /** Path without `/v1.0`, decoded, no query. */
  path: string;
  query: URLSearchParams;
  rawQuery: string;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  body: unknown;
  /** Origin + `/v1.0` of the request (for nextLink / deltaLink). */
  base: string;
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body?: unknown;
  /** Plain text body (validation echoes and the like). */
  text?: string;
  /** List items the answer carries (the latency model's per-item time). */
  items?: number;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Answer {
  return { status, headers: { 'Content-Type': 'application/json', ...headers }, body };
}

export const noContent = (): Answer => ({ status: 204, headers: {} });

export function methodNotAllowed(): GraphErrorResponse {
  return new GraphErrorResponse(405, 'methodNotAllowed', 'The HTTP method is not allowed on this resource.');
}

export function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return out;
}

/** OData system query options Graph v1.0 accepts with or without their `$` (query-parameters.md). */
const SYSTEM_OPTIONS = [
  'select',
  'expand',
  'filter',
  'top',
  'orderby',
  'skiptoken',
  'deltatoken',
  'count',
  'search',
  'skip',
];

/**
 * The query with every system option under its `$` name, in lower case: Graph's own examples write
 * `expand=fields` and `select=…` (listitem-get.md, list-get.md), and v1.0 treats them as `$expand`, `$select`;
 * delta-query-overview.md writes `$skipToken` and `$deltaToken` (OData option names are case-insensitive).
 * Nested options (`fields(select=A,B)`) get their `$` too. A `$` form given as well wins.
 */
export function odataQuery(query: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const [key, value] of query) {
    const name = key.toLowerCase().replace(/^\$/, '');
    const bare = SYSTEM_OPTIONS.includes(name) ? `$${name}` : key;
    if (bare !== key && query.has(bare)) continue;
    const nested =
      bare === '$expand' ? value.replace(/\(\s*(select|filter|top|expand)\s*=/gi, '($$$1=') : value;
    out.append(bare, nested);
  }
  return out;
}

/** One navigation property of `$expand` with its nested options: `items($expand=fields($select=A);$top=5)`. */
export interface ExpandEntry {
  name: string;
  select?: string[];
  expand: ExpandEntry[];
  top?: string;
}

/** Splits at `separator` outside parentheses. */
function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === separator && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter(Boolean);
}

/**
 * `$expand` as a tree: comma-separated navigation properties, each with options in parentheses separated by
 * `;`, written with or without `$` (`columns(select=name)`, `items(expand=fields(select=A,B))`, list-get.md).
 */
export function parseExpandTree(expand: string | null): ExpandEntry[] {
  if (!expand) return [];
  return splitTopLevel(expand, ',').map((part) => {
    const open = part.indexOf('(');
    const name = (open === -1 ? part : part.slice(0, open)).trim();
    const entry: ExpandEntry = { name, expand: [] };
    if (open === -1) return entry;
    if (!part.endsWith(')')) throw badRequest(`Invalid $expand value '${part}'.`);
    for (const option of splitTopLevel(part.slice(open + 1, -1), ';')) {
      const eq = option.indexOf('=');
      const key = option.slice(0, eq).trim().replace(/^\$/, '').toLowerCase();
      const value = option.slice(eq + 1).trim();
      if (eq === -1) throw badRequest(`Invalid $expand option '${option}' of '${name}'.`);
      // Other options ($filter, $orderby) are not emulated and ignored.
      if (key === 'select')
        entry.select = value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
      else if (key === 'expand') entry.expand = parseExpandTree(value);
      else if (key === 'top') entry.top = value;
    }
    return entry;
  });
}

export interface Expand {
  /** `fields` is expanded, optionally narrowed by `fields($select=A,B)`. */
  fields: boolean;
  select?: string[];
  columns: boolean;
}

/** `$expand` of an item or a list: `fields`, `fields($select=A,B)`, `columns`. */
export function parseExpand(expand: string | null): Expand {
  const tree = parseExpandTree(expand);
  const columns = tree.some((e) => e.name.toLowerCase() === 'columns');
  const fields = tree.find((e) => e.name.toLowerCase() === 'fields');
  if (!fields) return { fields: false, columns };
  return { fields: true, columns, ...(fields.select?.length ? { select: fields.select } : {}) };
}

/** `$select=a,b` as lower-cased names, or undefined when absent. */
export function parseSelect(query: URLSearchParams): Set<string> | undefined {
  const raw = query.get('$select');
  if (raw === null) return undefined;
  const names = raw
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (names.length === 0) throw badRequest("Invalid $select value ''.");
  return new Set(names);
}

/** Navigation properties an answer carries only when expanded; `$select` keeps them. */
const EXPANDED = new Set(['columns', 'fields', 'items']);

/**
 * Top-level `$select`: keeps the selected properties, `@odata.*` annotations and the expanded navigation
 * properties (`columns`, `fields`), as Graph does.
 */
export function selected(
  value: Record<string, unknown>,
  select: Set<string> | undefined,
): Record<string, unknown> {
  if (!select) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key.includes('@odata.') || EXPANDED.has(key) || select.has(key.toLowerCase())) out[key] = v;
  }
  return out;
}

/** `$top` as a page size: the default without it, capped at the largest page, 400 when not a positive integer. */
export function pageSize(
  query: URLSearchParams,
  settings: { defaultPageSize: number; maxPageSize: number },
): number {
  const top = query.get('$top');
  if (top === null) return settings.defaultPageSize;
  const n = Number(top);
  if (!Number.isInteger(n) || n < 1) throw badRequest(`Invalid $top value '${top}'.`);
  return Math.min(n, settings.maxPageSize);
}
