import { handle } from './handle.js';
import { messagePage } from './html.js';
import { type ConsoleHandler, type ConsoleOptions, validateConsoleOptions } from './options.js';
import { html, type Incoming, type Reply, SECURITY_HEADERS } from './reply.js';
import { ConsoleState } from './state.js';
import { fetchHandler, nodeHandler } from './transports.js';

export type { ConsoleAuthorize, ConsolePrincipal, ConsoleRequestInfo, ConsoleRole } from './auth.js';
export type { HistoryPoint, ListFigures, OverviewFigures } from './figures.js';
export type { ConsoleHandler, ConsoleOptions, ConsoleWorkspaces } from './options.js';

/**
 * The operator console: overview, dead letters, conflicts and workspaces, as server-rendered pages behind
 * authentication. Mount the handler under `basePath` (see docs/console.md). The parts: the options and
 * their checks (`options.ts`), what it keeps between requests (`state.ts`), one request's path through
 * sign-in, authentication, CSRF and role (`handle.ts`), the routes as data (`pages.ts`, `actions.ts`), the
 * markup (`html.ts`) and the node and fetch transports (`transports.ts`).
 */
export function createConsole(options: ConsoleOptions): ConsoleHandler {
  validateConsoleOptions(options);
  const state = new ConsoleState(options);

  /** Every answer carries the security headers; a failure is logged and answered without its details. */
  async function safely(request: Incoming): Promise<Reply> {
    let reply: Reply;
    try {
      reply = await handle(state, request);
    } catch (error) {
      state.logger.error('typeorm-sharepoint console: request failed', {
        url: request.url,
        error: String(error),
      });
      reply = html(500, messagePage('Error', 'The console could not answer; the details are in the log.'));
    }
    return { ...reply, headers: { ...SECURITY_HEADERS, ...reply.headers } };
  }

  return Object.assign(nodeHandler(safely), {
    fetch: fetchHandler(safely),
    close: () => state.close(),
  });
}
