/**
 * What SharePoint charges a Graph request, in resource units, as the emulator sees it: its own model, apart
 * from the library's (`graph/cost.ts`), so that a wrong cost on either side is caught by the test that
 * compares the two (test/testing/cost.test.ts) instead of agreeing with itself.
 *
 * Microsoft's figures (how-to-avoid-getting-throttled-or-blocked-in-sharepoint-online): 1 for a
 * single-entity read and for delta with a token; 2 for a multi-item query (a collection, a filter, delta
 * without a token) and for every create, update and delete; 5 for permission operations. A `$batch`
 * envelope is free: each request inside it is charged on its own.
 */

/** Resources whose GET answers many entities: a multi-item query. */
const MULTI_ITEM =
  /^(lists|items|columns|contenttypes|subscriptions|sites|children|versions|drives|operations)$/i;

export interface PricedRequest {
  method: string;
  /** Path below the version segment, e.g. `/sites/{id}/lists/{id}/items/delta`. */
  path: string;
  query: URLSearchParams;
}

export function emulatorCost({ method, path, query }: PricedRequest): number {
  const segments = path.split('/').filter(Boolean);
  const leaf = segments.at(-1) ?? '';
  if (leaf === '$batch') return 0;
  if (segments.some((s) => /^(permissions|grant|invite)$/i.test(s))) return 5;
  if (method.toUpperCase() !== 'GET') return 2;
  const delta = /^delta(\(.*\))?$/i.exec(leaf);
  if (delta) {
    const withToken =
      /token\s*=/i.test(delta[1] ?? '') ||
      query.has('token') ||
      query.has('$deltatoken') ||
      query.has('deltatoken');
    return withToken ? 1 : 2;
  }
  if (query.has('$filter') || query.has('$search')) return 2;
  return MULTI_ITEM.test(leaf) ? 2 : 1;
}
