import { badRequest, GraphErrorResponse } from '../../errors.js';
import { evaluateFilter, type FilterNode, filterFields, parseFilter } from '../../filter.js';
import { clean, itemJson } from '../../shapes.js';
import type { ItemRecord, ListRecord } from '../../store/records.js';
import { json, noContent, type Parsed, pageSize, parseExpand, parseSelect, selected } from '../request.js';
import type { Route, RouteContext } from '../route.js';

const PREFER_NON_INDEXED = 'honornonindexedquerieswarningmayfailrandomly';

/** Items as the request's `$expand=fields(…)` and `$select` shape them. */
export function itemShaper(list: ListRecord, request: Parsed): (item: ItemRecord) => Record<string, unknown> {
  const expand = parseExpand(request.query.get('$expand'));
  const fields = { expand: expand.fields, ...(expand.select ? { select: expand.select } : {}) };
  const select = parseSelect(request.query);
  return (item) => clean(selected(itemJson(list, item, fields), select));
}

/** A written item as Graph answers a create or update: with its fields. */
const written = (status: number, list: ListRecord, item: ItemRecord) => ({
  ...json(status, clean(itemJson(list, item, { expand: true }))),
  items: 1,
});

/** List items (listitem-create.md, listitem-get.md, listitem-list.md, listitem-update.md, listitem-delete.md). */
export const itemRoutes: Route[] = [
  {
    path: '/sites/{site}/lists/{list}/items',
    methods: {
      POST: ({ state, list, request }) => {
        const body = request.body as { fields?: unknown } | undefined;
        return written(201, list, state.createItem(list, body?.fields));
      },
      GET: (context) => listItems(context),
    },
  },
  {
    path: '/sites/{site}/lists/{list}/items/{item}',
    methods: {
      GET: ({ state, list, item, request }) => ({
        ...json(200, itemShaper(list, request)(state.requireItem(list, item))),
        items: 1,
      }),
      DELETE: ({ state, list, item, request }) => {
        state.deleteItem(list, item, request.headers['if-match']);
        return noContent();
      },
      PATCH: ({ state, list, item, request }) => {
        const body = request.body as { fields?: unknown } | undefined;
        return written(
          200,
          list,
          state.updateItem(list, item, body?.fields ?? {}, request.headers['if-match']),
        );
      },
    },
  },
  {
    path: '/sites/{site}/lists/{list}/items/{item}/fields',
    methods: {
      PATCH: ({ state, list, item, request }) => {
        const updated = state.updateItem(list, item, request.body, request.headers['if-match']);
        return { ...json(200, clean(itemJson(list, updated, { expand: true })).fields), items: 1 };
      },
      GET: ({ state, list, item }) => ({
        ...json(200, clean(itemJson(list, state.requireItem(list, item), { expand: true })).fields),
        items: 1,
      }),
    },
  },
];

/**
 * The `$filter` of a request as a test on one item (undefined without a filter); a non-indexed column needs the
 * Prefer header and a list under the threshold.
 */
function filterOf(
  context: RouteContext,
): { keep: (item: ItemRecord) => boolean; ids: { from: number; below: number } } | undefined {
  const { list, request, settings } = context;
  const filter = request.query.get('$filter');
  if (!filter) return undefined;
  const node = parseFilter(filter);
  for (const name of filterFields(node)) {
    const field = name.replace(/^fields\//, '');
    // The item id (SharePoint's `ID`, indexed in every list): a ranged read filters on it.
    if (field.toLowerCase() === 'id') continue;
    const column = list.columns.find((c) => c.name.toLowerCase() === field.toLowerCase());
    if (!column) throw badRequest(`Field '${field}' is not recognized.`);
    if (column.indexed) continue;
    const prefer = (request.headers.prefer ?? '').toLowerCase();
    if (!prefer.includes(PREFER_NON_INDEXED)) {
      throw badRequest(
        `Field '${field}' cannot be referenced in filter or orderby as it is not indexed. Provide the 'Prefer: HonorNonIndexedQueriesWarningMayFailRandomly' header to allow this, but be warned that such queries may fail on large lists.`,
      );
    }
    if (list.items.size > settings.listViewThreshold) {
      throw new GraphErrorResponse(
        400,
        'invalidRequest',
        'The attempted operation is prohibited because it exceeds the list view threshold.',
      );
    }
  }
  const keep = (item: ItemRecord) =>
    evaluateFilter(node, (name) => {
      const field = name.replace(/^fields\//, '');
      if (field.toLowerCase() === 'id') return item.id;
      const key = Object.keys(item.fields).find((k) => k.toLowerCase() === field.toLowerCase());
      return key === undefined ? null : item.fields[key];
    });
  return { keep, ids: idBounds(node) };
}

/**
 * The item ids a filter can match at most, from the id comparisons of its top-level `and` chain (as an index
 * seek would use them): `[from, below)`. Every item in it is still tested against the whole filter.
 */
function idBounds(node: FilterNode): { from: number; below: number } {
  const bounds = { from: 0, below: Number.POSITIVE_INFINITY };
  const visit = (n: FilterNode): void => {
    if (n.kind === 'and') {
      visit(n.left);
      visit(n.right);
      return;
    }
    if (n.kind !== 'compare' || n.left.kind !== 'field' || n.right.kind !== 'literal') return;
    if (n.left.name.replace(/^fields\//, '').toLowerCase() !== 'id' || typeof n.right.value !== 'number')
      return;
    const v = n.right.value;
    if (n.op === 'ge') bounds.from = Math.max(bounds.from, Math.ceil(v));
    else if (n.op === 'gt') bounds.from = Math.max(bounds.from, Math.floor(v) + 1);
    else if (n.op === 'lt') bounds.below = Math.min(bounds.below, Math.ceil(v));
    else if (n.op === 'le') bounds.below = Math.min(bounds.below, Math.floor(v) + 1);
    else if (n.op === 'eq') {
      bounds.from = Math.max(bounds.from, v);
      bounds.below = Math.min(bounds.below, v + 1);
    }
  };
  visit(node);
  return bounds;
}

/** The index of the first item whose id is at least `id` (binary search over items in id order). */
function firstAtLeast(items: ItemRecord[], id: number): number {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (items[middle]!.id < id) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** The list's items in id order (the store keeps them in creation order, which is id order; sorted if not). */
function inIdOrder(list: ListRecord): ItemRecord[] {
  const items = [...list.items.values()];
  for (let i = 1; i < items.length; i++) {
    if (items[i - 1]!.id > items[i]!.id) return items.sort((a, b) => a.id - b.id);
  }
  return items;
}

/** The `$skiptoken` of the page after `last`: SharePoint's `Paged=TRUE&p_ID=<id>`, base64. */
export function skipTokenAfter(last: ItemRecord): string {
  return Buffer.from(`Paged=TRUE&p_ID=${last.id}`).toString('base64url');
}

/**
 * One page of a list's items. SharePoint pages by item id (`Paged=TRUE&p_ID=<last id>`, base64): an item
 * deleted or added between two pages shifts nothing, unlike an offset.
 */
function listItems(context: RouteContext) {
  const { list, request: p, settings } = context;
  const filter = filterOf(context);
  const size = pageSize(p.query, settings);
  const skipToken = p.query.get('$skiptoken');
  let afterId = 0;
  if (skipToken !== null) {
    const m = /^Paged=TRUE&p_ID=(\d+)$/.exec(Buffer.from(skipToken, 'base64url').toString('utf8'));
    if (!m) throw badRequest(`Invalid $skiptoken '${skipToken}': follow @odata.nextLink as given.`);
    afterId = Number(m[1]);
  }
  // One pass in id order after the skiptoken, stopping once the page and one more are found (no need to
  // filter or shape the whole list for every page of a large one).
  const page: ItemRecord[] = [];
  let more = false;
  const items = inIdOrder(list);
  const below = filter?.ids.below ?? Number.POSITIVE_INFINITY;
  for (let i = firstAtLeast(items, Math.max(afterId + 1, filter?.ids.from ?? 0)); i < items.length; i++) {
    const item = items[i]!;
    if (item.id >= below) break;
    if (filter && !filter.keep(item)) continue;
    if (page.length === size) {
      more = true;
      break;
    }
    page.push(item);
  }
  const shape = itemShaper(list, p);
  const body: Record<string, unknown> = { value: page.map(shape) };
  if (more) {
    const next = new URLSearchParams(p.query);
    next.set('$skiptoken', skipTokenAfter(page.at(-1)!));
    body['@odata.nextLink'] = `${p.base}${p.path}?${next.toString()}`;
  }
  return { ...json(200, body), items: page.length };
}
