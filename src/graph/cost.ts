/**
 * Resource units SharePoint charges per Graph request (Microsoft's "Avoid getting throttled or blocked in
 * SharePoint Online", resource units; summarised in docs/graph.md, "Pacing"):
 * 1 for a single-entity GET and for delta with a token; 2 for a multi-item query (a collection,
 * a `$filter`, delta without token) and for create, update and delete; 5 for permission operations.
 * The `$batch` envelope itself costs nothing: each inner request is charged.
 */
const COLLECTIONS = new Set([
  'lists',
  'items',
  'columns',
  'contenttypes',
  'subscriptions',
  'sites',
  'children',
  'versions',
  'drives',
  'operations',
]);

const DELTA_TOKEN_PARAMS = ['token', '$deltatoken', 'deltatoken'];

export function resourceUnitCost(method: string, path: string): number {
  const queryStart = path.indexOf('?');
  const pathname = (queryStart === -1 ? path : path.slice(0, queryStart)).replace(/\/+$/, '');
  const query = queryStart === -1 ? '' : path.slice(queryStart + 1);
  const params = new URLSearchParams(query);
  const segments = pathname.split('/').filter(Boolean);
  const last = (segments.at(-1) ?? '').toLowerCase();

  if (last === '$batch') return 0;
  if (segments.some((s) => /^(permissions|grant|invite)$/i.test(s))) return 5;
  if (method.toUpperCase() !== 'GET') return 2;

  if (last === 'delta' || last.startsWith('delta(')) {
    // `delta(token='…')`, the function form Graph's deltaLinks may use, carries its token in the segment.
    const tokenInSegment = /^delta\(\s*token\s*=/.test(last);
    return tokenInSegment || DELTA_TOKEN_PARAMS.some((name) => params.has(name)) ? 1 : 2;
  }
  if (params.has('$filter') || params.has('$search')) return 2;
  return COLLECTIONS.has(last) ? 2 : 1;
}
