import { ODATA } from './resources.js';
import type { GraphPage, GraphRequest, GraphResponse } from './types.js';
import type { GraphUrl } from './url.js';

/**
 * Follows `@odata.nextLink` until it is absent, yielding each page. Accepts a path relative to the
 * base URL or an absolute URL (a stored deltaLink) on the same origin; a nextLink or deltaLink on
 * another origin is refused (`foreignNextLink`) so the token never travels elsewhere.
 * `query` applies to the first request only: later pages carry Graph's own links.
 */
export async function* followPages<T>(
  request: (req: GraphRequest) => Promise<GraphResponse<Record<string, unknown>>>,
  url: GraphUrl,
  pathOrUrl: string,
  init: { query?: GraphRequest['query']; headers?: Record<string, string> } = {},
): AsyncIterableIterator<GraphPage<T>> {
  let next: string | undefined = pathOrUrl;
  let first = true;
  while (next !== undefined) {
    const response: GraphResponse<Record<string, unknown>> = await request({
      method: 'GET',
      path: next,
      ...(first && init.query ? { query: init.query } : {}),
      ...(init.headers ? { headers: init.headers } : {}),
    });
    first = false;
    const body = response.body ?? {};
    const nextLink = stringOrUndefined(body[ODATA.nextLink]);
    const deltaLink = stringOrUndefined(body[ODATA.deltaLink]);
    for (const link of [nextLink, deltaLink]) {
      if (link !== undefined) url.resolve('GET', link, undefined);
    }
    const page: GraphPage<T> = { value: Array.isArray(body.value) ? (body.value as T[]) : [] };
    if (nextLink !== undefined) page.nextLink = nextLink;
    if (deltaLink !== undefined) page.deltaLink = deltaLink;
    yield page;
    next = nextLink;
  }
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
