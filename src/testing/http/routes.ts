import { notFound } from '../errors.js';
import type { ColumnRecord, ListRecord, SiteRecord } from '../store/records.js';
import type { EmulatorState } from '../store/state.js';
import { batchRoutes } from './resources/batch.js';
import { columnRoutes } from './resources/columns.js';
import { deltaRoutes } from './resources/delta.js';
import { itemRoutes } from './resources/items.js';
import { listRoutes } from './resources/lists.js';
import { resolveSite, siteRoutes } from './resources/sites.js';
import { subscriptionRoutes } from './resources/subscriptions.js';
import type { Route } from './route.js';

/** Every route the emulator serves, tried in this order (`items/delta` before `items/{item}`). */
export const ROUTES: readonly Route[] = [
  ...batchRoutes,
  ...subscriptionRoutes,
  ...siteRoutes,
  ...listRoutes,
  ...columnRoutes,
  ...deltaRoutes,
  ...itemRoutes,
];

interface CompiledRoute {
  route: Route;
  segments: string[];
}

const COMPILED: CompiledRoute[] = ROUTES.map((route) => ({
  route,
  segments: route.path.split('/').filter(Boolean),
}));

const isParam = (segment: string) => segment.startsWith('{');

/** A literal matches itself or its OData function-call form (`delta(token='…')`). */
function segmentMatches(pattern: string, segment: string): boolean {
  return isParam(pattern) || segment === pattern || segment.startsWith(`${pattern}(`);
}

/** How many leading segments of `segments` fit the route's pattern. */
function fittedLength(route: CompiledRoute, segments: string[]): number {
  let n = 0;
  while (n < route.segments.length && n < segments.length && segmentMatches(route.segments[n]!, segments[n]!))
    n++;
  return n;
}

export interface Match {
  route: Route;
  params: {
    site?: SiteRecord;
    list?: ListRecord;
    column?: ColumnRecord;
    item?: string;
    subscription?: string;
  };
}

/**
 * The route of `path` and its parameters. A site by path (`/sites/host:/path:/lists`) is resolved first and
 * stands as one `{site}` segment. A list or column that does not exist answers 404 naming it; a path no
 * route fits answers 404 naming the first segment that fits none.
 */
export function matchRoute(state: EmulatorState, path: string, inBatch: boolean): Match {
  let segments = path.split('/').filter(Boolean);
  const params: Match['params'] = {};
  if (segments[0] === 'sites') {
    if (segments.length < 2) throw notFound("Resource not found for the segment 'sites'.");
    const { site, tail } = resolveSite(state, path);
    params.site = site;
    segments = ['sites', '{site}', ...tail];
  }
  const candidates = COMPILED.filter((c) => !(inBatch && c.route.envelope));
  const exact = candidates.find(
    (c) => c.segments.length === segments.length && fittedLength(c, segments) === segments.length,
  );
  const best =
    exact ?? candidates.reduce((a, b) => (fittedLength(b, segments) > fittedLength(a, segments) ? b : a));
  const fitted = fittedLength(best, segments);
  for (let i = 0; i < fitted; i++) resolveParam(state, best.segments[i]!, segments[i]!, params);
  if (!exact) throw notFound(`Resource not found for the segment '${segments[fitted] ?? ''}'.`);
  return { route: best.route, params };
}

function resolveParam(state: EmulatorState, pattern: string, segment: string, params: Match['params']): void {
  switch (pattern) {
    case '{list}': {
      const site = params.site!;
      params.list = state.findList(site, segment);
      if (!params.list)
        throw notFound(
          `List '${segment}' does not exist at site with URL 'https://${site.hostname}${site.path}'.`,
        );
      return;
    }
    case '{column}':
      params.column = state.findColumn(params.list!, segment);
      if (!params.column) throw notFound(`Column '${segment}' does not exist.`);
      return;
    case '{item}':
      params.item = segment;
      return;
    case '{subscription}':
      params.subscription = segment;
  }
}
