import type { Parsed } from '../request.js';
import { json, noContent } from '../request.js';
import type { Route } from '../route.js';

/** `@odata.context` of one subscription, as subscription-post-subscriptions.md shows it. */
const entity = (request: Parsed, body: Record<string, unknown>) => ({
  '@odata.context': `${request.base}/$metadata#subscriptions/$entity`,
  ...body,
});

/** `/subscriptions`: webhook subscriptions on lists (subscription-post-subscriptions.md and siblings). */
export const subscriptionRoutes: Route[] = [
  {
    path: '/subscriptions',
    methods: {
      POST: async ({ subscriptions, request }) =>
        json(201, entity(request, subscriptions.toJson(await subscriptions.create(request.body)))),
      GET: ({ subscriptions, request }) =>
        json(200, {
          '@odata.context': `${request.base}/$metadata#subscriptions`,
          // subscription-list.md: "the clientState property value is not returned for security purposes".
          value: subscriptions.list().map((r) => ({ ...subscriptions.toJson(r), clientState: null })),
        }),
    },
  },
  {
    path: '/subscriptions/{subscription}',
    methods: {
      GET: ({ subscriptions, subscription, request }) =>
        json(200, entity(request, subscriptions.toJson(subscriptions.get(subscription)))),
      PATCH: ({ subscriptions, subscription, request }) =>
        json(200, entity(request, subscriptions.toJson(subscriptions.update(subscription, request.body)))),
      DELETE: ({ subscriptions, subscription }) => {
        subscriptions.delete(subscription);
        return noContent();
      },
    },
  },
];
