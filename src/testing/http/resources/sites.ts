import { notFound } from '../../errors.js';
import { clean, siteJson } from '../../shapes.js';
import type { SiteRecord } from '../../store/records.js';
import type { EmulatorState } from '../../store/state.js';
import { json, parseSelect, selected } from '../request.js';
import type { Route } from '../route.js';

/**
 * `/sites/{site}/…` → the site and the segments after it. A site is named by id or by path
 * (`/sites/{hostname}:/{path}[:]`); path addressing takes the rest of the URL, up to the closing `:`.
 */
export function resolveSite(state: EmulatorState, path: string): { site: SiteRecord; tail: string[] } {
  const rest = path.slice('/sites/'.length);
  const colon = rest.indexOf(':');
  const slash = rest.indexOf('/');
  if (colon > 0 && (slash === -1 || colon < slash)) {
    const hostname = rest.slice(0, colon);
    let sitePath = rest.slice(colon + 1);
    const end = sitePath.indexOf(':', 1);
    let after = '';
    if (end > 0) {
      after = sitePath.slice(end + 1);
      sitePath = sitePath.slice(0, end);
    }
    const site = state.findSiteByPath(hostname, sitePath.replace(/\/+$/, '') || '/');
    if (!site) throw notFound('Requested site could not be found');
    return { site, tail: after.split('/').filter(Boolean) };
  }
  const segments = rest.split('/').filter(Boolean);
  const key = segments[0]!;
  // site-get.md / site-getbypath.md: `root` is the tenant's root site, a bare hostname that host's root site.
  const site =
    state.findSiteById(key) ??
    (key.toLowerCase() === 'root'
      ? state.sites.find((s) => s.path === '/')
      : key.includes(',')
        ? undefined
        : state.findSiteByPath(key, '/'));
  if (!site) throw notFound('Requested site could not be found');
  return { site, tail: segments.slice(1) };
}

export const siteRoutes: Route[] = [
  {
    path: '/sites/{site}',
    methods: {
      GET: ({ site, request }) => json(200, selected(clean(siteJson(site)), parseSelect(request.query))),
    },
  },
];
