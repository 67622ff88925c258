import { type GraphClient, GraphError, graphPath } from '../graph/index.js';
import { PermissionError, SiteNotFoundError, WRITE_PERMISSION } from './errors.js';

export interface SiteInfo {
  id: string;
  hostname: string;
  path: string;
  webUrl?: string;
  displayName?: string;
}

/** `GET /sites/{hostname}:{path}` — the site's id, or a clear error. */
export async function resolveSite(
  graph: GraphClient,
  ref: { hostname: string; path: string },
): Promise<SiteInfo> {
  const path = ref.path.startsWith('/') ? ref.path : `/${ref.path}`;
  try {
    const found = await graph.get<{ id: string; webUrl?: string; displayName?: string }>(
      graphPath.siteByPath(ref.hostname, path),
    );
    return {
      id: found.id,
      hostname: ref.hostname,
      path,
      ...(found.webUrl ? { webUrl: found.webUrl } : {}),
      ...(found.displayName ? { displayName: found.displayName } : {}),
    };
  } catch (error) {
    if (error instanceof GraphError && error.status === 404) throw new SiteNotFoundError(ref.hostname, path);
    if (error instanceof GraphError && error.status === 403) {
      throw new PermissionError(`reading the site https://${ref.hostname}${path}`, WRITE_PERMISSION, error);
    }
    throw error;
  }
}
