import { evaluateFilter, parseFilter } from '../../filter.js';
import { clean, listJson } from '../../shapes.js';
import { json, parseExpand, parseSelect, selected } from '../request.js';
import type { Route } from '../route.js';

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
      GET: ({ site, request }) => {
        const expand = parseExpand(request.query.get('$expand'));
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
        const select = parseSelect(request.query);
        return json(200, { value: lists.map((l) => selected(clean(listJson(l, expand.columns)), select)) });
      },
    },
  },
  {
    path: '/sites/{site}/lists/{list}',
    methods: {
      GET: ({ list, request }) =>
        json(
          200,
          selected(
            clean(listJson(list, parseExpand(request.query.get('$expand')).columns)),
            parseSelect(request.query),
          ),
        ),
    },
  },
];
