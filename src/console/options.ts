import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DataSource } from 'typeorm';
import type { Logger } from '../context.js';
import { ConfigError } from '../errors/index.js';
import type { SharePointSync } from '../sync/index.js';
import type { ConsoleAuthorize } from './auth.js';

// The console's options and handler type (public), and the checks `createConsole` runs first.

/** What the console needs of a `SharePointWorkspaces` (which fits it as it is). */
export interface ConsoleWorkspaces {
  status(): Promise<
    {
      workspace: string;
      pending: number;
      lagSeconds: number;
      deadLetters: number;
      openConflicts: number;
      totals: { resourceUnits: number; sent: number; throttled: number };
      stranded?: { reason: string } | undefined;
    }[]
  >;
  attached(): string[];
  get(workspaceId: string): Promise<SharePointSync>;
}

export interface ConsoleOptions {
  /** The sync to show (one site). Give this or `workspaces`. */
  sync?: SharePointSync;
  /** Every workspace of a multi-tenant application. Give this or `sync`. */
  workspaces?: ConsoleWorkspaces;
  /** Workspaces to list even while not attached (the Workspaces page shows them "not attached"). */
  workspaceIds?: () => string[] | Promise<string[]>;
  /**
   * Where the Workspaces page reads the stored figures of a workspace that is not attached (pending, oldest
   * pending, dead letters, open conflicts) — straight from its schema's tables, without attaching it: an
   * initialised DataSource on the database the workspaces' schemas live in, and each workspace's schema
   * (`defaultWorkspaceSchema` unless your resolver names another). Without it such a workspace shows no figures.
   */
  storedFigures?: {
    dataSource: DataSource;
    schemaOf: (workspaceId: string) => string | Promise<string>;
  };
  /**
   * Opening a workspace that is not attached attaches it (the CLI's console), and the Workspaces page links every
   * known workspace. Default false: only attached ones open.
   */
  attachOnView?: boolean;
  /** Bearer token (≥ 16 characters) that signs in with the read-write role. */
  token?: string;
  /** Bearer token (≥ 16 characters) that signs in with the read-only role. */
  readOnlyToken?: string;
  /**
   * The application's own authentication (e.g. its session cookie): return the principal and its role, or
   * nothing (then a token may still sign in). Runs for every request.
   */
  authorize?: ConsoleAuthorize;
  /** The path the console is mounted under, e.g. `/ops/sharepoint`. Default: the root. */
  basePath?: string;
  /** Every action is logged here with who did it (`info`); refusals are `warn`. */
  logger?: Logger;
  /** How often the last hour's charts take a sample. Default 10 000 ms. */
  sampleIntervalMs?: number;
  /** How often an open overview refreshes itself. Default 2 000 ms. */
  refreshIntervalMs?: number;
  /** How long a sign-in lasts. Default 8 hours. */
  sessionTtlMs?: number;
}

/** A request handler for node `http` (and Express, Fastify's `raw`, NestJS), with a fetch-style form. */
export type ConsoleHandler = ((req: IncomingMessage, res: ServerResponse) => void) & {
  fetch(request: Request): Promise<Response>;
  /** Stops the chart sampler and the event listeners (the syncs stay attached: they are yours). */
  close(): void;
};

const MIN_TOKEN_LENGTH = 16;

/** Refused before anything is served: exactly one of sync/workspaces, long tokens, a way to sign in, a sane base path. */
export function validateConsoleOptions(options: ConsoleOptions): void {
  if (Boolean(options.sync) === Boolean(options.workspaces))
    throw new ConfigError('console: sync / workspaces', 'exactly one of `sync` and `workspaces`');
  for (const name of ['token', 'readOnlyToken'] as const) {
    const value = options[name];
    if (value !== undefined && (typeof value !== 'string' || value.length < MIN_TOKEN_LENGTH))
      // The value is a secret: never echoed.
      throw new ConfigError(`console: ${name}`, `a string of at least ${MIN_TOKEN_LENGTH} characters`);
  }
  if (!options.token && !options.readOnlyToken && !options.authorize)
    throw new ConfigError(
      'console: token / readOnlyToken / authorize',
      'at least one way to authenticate (nothing is served without it)',
    );
  if (options.basePath !== undefined && !/^(\/[A-Za-z0-9._~-]+)*\/?$/.test(options.basePath))
    throw new ConfigError('console: basePath', 'a path such as /ops/sharepoint', options.basePath);
}
