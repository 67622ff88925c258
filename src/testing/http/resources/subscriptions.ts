import { json, noContent } from '../request.js';
import type { Route } from '../route.js';

/** `/subscriptions`: webhook subscriptions on lists (subscription-post-subscriptions.md and siblings). */
export const subscriptionRoutes: Route[] = [
  {
    path: '/subscriptions',
    methods: {
      POST: async ({ subscriptions, request }) =>
        json(201, subscriptions.toJson(await subscriptions.create(request.body))),
      GET: ({ subscriptions }) =>
        json(200, { value: subscriptions.list().map((r) => subscriptions.toJson(r)) }),
    },
  },
  {
    path: '/subscriptions/{subscription}',
    methods: {
      GET: ({ subscriptions, subscription }) =>
        json(200, subscriptions.toJson(subscriptions.get(subscription))),
      PATCH: ({ subscriptions, subscription, request }) =>
        json(200, subscriptions.toJson(subscriptions.update(subscription, request.body))),
      DELETE: ({ subscriptions, subscription }) => {
        subscriptions.delete(subscription);
        return noContent();
      },
    },
  },
];
