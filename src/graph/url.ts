import { ConfigError } from '../errors/index.js';
import { GraphError } from './errors.js';
import type { GraphRequest } from './types.js';

export const DEFAULT_BASE_URL = 'https://graph.microsoft.com/v1.0';

/** Clouds without list-item delta (learn.microsoft.com/graph/api/listitem-delta: global service only). */
const NO_LIST_ITEM_DELTA = new Set([
  'graph.microsoft.us',
  'dod-graph.microsoft.us',
  'microsoftgraph.chinacloudapi.cn',
]);

/** One request's URL, in the three forms the gateway needs. */
export interface Target {
  url: string;
  /** Relative to the base URL, with the query string: what `$batch` inner requests carry. */
  relative: string;
  /** Relative path with query names only: safe for messages and logs. */
  display: string;
}

/**
 * The base URL and the rule that keeps every request on its origin: relative paths are joined to it,
 * absolute URLs (nextLinks, stored deltaLinks) must share its origin, or nothing is sent.
 */
export class GraphUrl {
  /** Origin and path, no trailing slash (`https://graph.microsoft.com/v1.0`). */
  readonly baseUrl: string;
  readonly origin: string;
  readonly hostname: string;
  private readonly basePath: string;

  constructor(baseUrl: string = DEFAULT_BASE_URL) {
    const base = new URL(baseUrl);
    if (base.protocol !== 'https:' && base.protocol !== 'http:') {
      throw new ConfigError('graph.baseUrl', 'an http(s) URL', base.href);
    }
    this.baseUrl = `${base.origin}${base.pathname.replace(/\/+$/, '')}`;
    this.origin = base.origin;
    this.hostname = base.hostname.toLowerCase();
    this.basePath = base.pathname.replace(/\/+$/, '');
  }

  /**
   * Whether list-item delta exists in this cloud (Microsoft Graph reference, "listItem: delta", national cloud
   * table: not in the US Government and China clouds).
   */
  get hasListItemDelta(): boolean {
    return !NO_LIST_ITEM_DELTA.has(this.hostname);
  }

  /** Builds the URL; refuses absolute URLs on another origin before anything is sent. */
  resolve(method: string, path: string, query: GraphRequest['query']): Target {
    const url = /^[a-z][a-z0-9+.-]*:/i.test(path) ? this.absolute(method, path) : this.relative(method, path);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      const pair = `${encodeQueryKey(key)}=${encodeURIComponent(String(value))}`;
      url.search = url.search ? `${url.search}&${pair}` : `?${pair}`;
    }
    const pathname =
      url.pathname === this.basePath || url.pathname.startsWith(`${this.basePath}/`)
        ? url.pathname.slice(this.basePath.length) || '/'
        : url.href;
    const names = [...new Set([...url.searchParams.keys()])];
    return {
      url: url.href,
      relative: `${pathname}${url.search}`,
      display: `${pathname}${names.length ? `?${names.join('&')}` : ''}`,
    };
  }

  private absolute(method: string, path: string): URL {
    let url: URL;
    try {
      url = new URL(path);
    } catch {
      throw new GraphError({
        status: 0,
        code: 'invalidUrl',
        method,
        path: '[unparseable URL]',
        retryable: false,
      });
    }
    if (url.origin !== this.origin) {
      throw new GraphError({
        status: 0,
        code: 'foreignNextLink',
        method,
        path: `${url.origin}${url.pathname}`,
        retryable: false,
        detail: `refusing to send a request to ${url.origin}: only ${this.origin} (the configured baseUrl) receives the token`,
      });
    }
    return url;
  }

  private relative(method: string, path: string): URL {
    const url = new URL(`${this.baseUrl}${path.startsWith('/') ? '' : '/'}${path}`);
    // Belt and braces: whatever the path held, the request stays on the configured origin.
    if (url.origin !== this.origin) {
      throw new GraphError({
        status: 0,
        code: 'foreignNextLink',
        method,
        path: url.origin,
        retryable: false,
      });
    }
    return url;
  }
}

/** OData system query options keep their `$`; everything else is percent-encoded. */
function encodeQueryKey(key: string): string {
  return key.startsWith('$') ? `$${encodeURIComponent(key.slice(1))}` : encodeURIComponent(key);
}
