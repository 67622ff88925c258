import { clean, columnJson } from '../../shapes.js';
import { json, noContent, parseSelect, selected } from '../request.js';
import type { Route } from '../route.js';

/** A list's columns (columndefinition-*.md, list-list-columns.md, list-post-columns.md). */
export const columnRoutes: Route[] = [
  {
    path: '/sites/{site}/lists/{list}/columns',
    methods: {
      POST: ({ state, list, request }) =>
        json(201, clean(columnJson(state.createColumn(list, request.body)))),
      GET: ({ list, request }) => {
        const select = parseSelect(request.query);
        return json(200, { value: list.columns.map((c) => selected(clean(columnJson(c)), select)) });
      },
    },
  },
  {
    path: '/sites/{site}/lists/{list}/columns/{column}',
    methods: {
      GET: ({ column, request }) =>
        json(200, selected(clean(columnJson(column)), parseSelect(request.query))),
      PATCH: ({ state, list, column, request }) =>
        json(200, clean(columnJson(state.updateColumn(list, column, request.body)))),
      // columndefinition-delete.md: 204 No Content.
      DELETE: ({ state, list, column }) => {
        state.deleteColumn(list, column);
        return noContent();
      },
    },
  },
];
