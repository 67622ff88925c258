import { evaluateFilter, parseFilter } from '../../filter.js';
import { clean, columnJson, itemJson, listJson } from '../../shapes.js';
import type { ListRecord } from '../../store/records.js';
import {
  type Answer,
  type ExpandEntry,
  json,
  pageSize,
  parseExpandTree,
  parseSelect,
  selected,
} from '../request.js';
import type { Route, RouteContext } from '../route.js';
import { skipTokenAfter } from './items.js';

const lowerSet = (names: string[] | undefined) =>
  names ? new Set(names.map((n) => n.toLowerCase())) : undefined;
const named = (tree: ExpandEntry[], name: string) => tree.find((e) => e.name.toLowerCase() === name);

/**
 * A list as `$expand` and `$select` shape it (list-get.md): `columns(select=…)` and `items(expand=fields(
 * select=…))` in the same answer; expanded items are the first page (`items($top=…)` or the default page
 * size), with `items@odata.nextLink` when there are more.
 */
function expandedList(
  context: RouteContext,
  list: ListRecord,
): { body: Record<string, unknown>; items: number } {
  const { request, settings } = context;
  const tree = parseExpandTree(request.query.get('$expand'));
  const body = clean(listJson(list, false));
  const columns = named(tree, 'columns');
  if (columns) {
    const select = lowerSet(columns.select);
    body.columns = list.columns.map((c) => selected(clean(columnJson(c)), select));
  }
  const items = named(tree, 'items');
  let count = 0;
  if (items) {
    const fields = named(items.expand, 'fields');
    const shape = {
      expand: fields !== undefined,
      ...(fields?.select?.length ? { select: fields.select } : {}),
    };
    const size = pageSize(new URLSearchParams(items.top === undefined ? {} : { $top: items.top }), settings);
    const all = [...list.items.values()].sort((a, b) => a.id - b.id);
    const page = all.slice(0, size);
    const select = lowerSet(items.select);
    body.items = page.map((item) => clean(selected(itemJson(list, item, shape), select)));
    count = page.length;
    if (all.length > size) {
      const next = new URLSearchParams();
      if (fields)
        next.set('$expand', fields.select?.length ? `fields($select=${fields.select.join(',')})` : 'fields');
      if (items.select) next.set('$select', items.select.join(','));
      next.set('$top', String(size));
      next.set('$skiptoken', skipTokenAfter(page.at(-1)!));
      body['items@odata.nextLink'] = `${request.base}/sites/${list.site.id}/lists/${list.id}/items?${next}`;
    }
  }
  return { body: selected(body, parseSelect(request.query)), items: count };
}

function getLists(context: RouteContext): Answer {
  const { site, request } = context;
  let lists = site.lists;
  const filter = request.query.get('$filter');
  if (filter) {
    const node = parseFilter(filter, ['displayName', 'name']);
    const property = { displayName: 'displayName', name: 'name', id: 'id' } as const;
    lists = lists.filter((l) =>
      evaluateFilter(node, (name) =>
        Object.hasOwn(property, name) ? l[property[name as keyof typeof property]] : undefined,
      ),
    );
  }
  const answers = lists.map((l) => expandedList(context, l));
  return {
    ...json(200, { value: answers.map((a) => a.body) }),
    items: answers.reduce((n, a) => n + a.items, 0),
  };
}

/** `/sites/{site}/lists` and one list (list-create.md, list-list.md, list-get.md). */
export const listRoutes: Route[] = [
  {
    path: '/sites/{site}/lists',
    methods: {
      POST: ({ state, site, request }) =>
        json(
          201,
          clean(listJson(state.createList(site, (request.body ?? {}) as Record<string, unknown>), true)),
        ),
      GET: getLists,
    },
  },
  {
    path: '/sites/{site}/lists/{list}',
    methods: {
      GET: (context) => {
        const { body, items } = expandedList(context, context.list);
        return { ...json(200, body), items };
      },
    },
  },
];
