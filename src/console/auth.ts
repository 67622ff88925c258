import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../errors/index.js';

/** What a principal may do: `read-only` views, `read-write` also acts (retry, discard, resolve). */
export type ConsoleRole = 'read-only' | 'read-write';

/** Who is using the console: from a token, or from the application's own `authorize` hook. */
export interface ConsolePrincipal {
  /** Shown on the page and written with every action to the log. */
  name: string;
  role: ConsoleRole;
}

/** The parts of a request the `authorize` hook may look at (header names in lower case). */
export interface ConsoleRequestInfo {
  method: string;
  /** Path and query, as received. */
  url: string;
  headers: Record<string, string | undefined>;
}

export type ConsoleAuthorize = (
  request: ConsoleRequestInfo,
) => ConsolePrincipal | null | undefined | Promise<ConsolePrincipal | null | undefined>;

/** An authenticated request: the principal, how it was proven, and the CSRF token its actions must carry. */
export interface Authenticated {
  principal: ConsolePrincipal;
  via: 'session' | 'bearer' | 'authorize';
  csrf: string;
  sessionId?: string;
}

interface Session {
  principal: ConsolePrincipal;
  csrf: string;
  expiresAt: number;
}

export const SESSION_COOKIE = 'tsp_console';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Constant-time string comparison (hashes first: lengths never leak). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0) out.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  return out;
}

/**
 * Tokens, sessions and CSRF tokens of one console. Sessions live in memory (a restart signs everyone out);
 * the secret that binds CSRF tokens to a principal is random per console and never leaves the process.
 */
export class ConsoleAuth {
  private readonly secret = randomBytes(32);
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly options: {
      token?: string | undefined;
      readOnlyToken?: string | undefined;
      authorize?: ConsoleAuthorize | undefined;
      sessionTtlMs: number;
    },
  ) {}

  /** Whether people sign in with a token (a login form is offered). */
  get tokenLogin(): boolean {
    return Boolean(this.options.token || this.options.readOnlyToken);
  }

  /** The principal a token stands for, or undefined. */
  principalForToken(token: string): ConsolePrincipal | undefined {
    // Both comparisons always run: the time taken says nothing about which token matched.
    const write = this.options.token !== undefined && sameSecret(token, this.options.token);
    const read = this.options.readOnlyToken !== undefined && sameSecret(token, this.options.readOnlyToken);
    if (write) return { name: 'token', role: 'read-write' };
    if (read) return { name: 'read-only token', role: 'read-only' };
    return undefined;
  }

  createSession(principal: ConsolePrincipal): { id: string; csrf: string } {
    this.sweep();
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(32).toString('base64url');
    this.sessions.set(id, { principal, csrf, expiresAt: Date.now() + this.options.sessionTtlMs });
    return { id, csrf };
  }

  endSession(id: string): void {
    this.sessions.delete(id);
  }

  /** Who makes this request: the app's hook, a bearer token, or a session cookie; undefined when nobody. */
  async authenticate(request: ConsoleRequestInfo): Promise<Authenticated | undefined> {
    if (this.options.authorize) {
      const principal = await this.options.authorize(request);
      if (principal) {
        if (principal.role !== 'read-only' && principal.role !== 'read-write') {
          throw new ConfigError(
            'console: authorize() role',
            '"read-only" or "read-write"',
            String(principal.role),
          );
        }
        return {
          principal,
          via: 'authorize',
          csrf: this.bound(`authorize|${principal.name}|${principal.role}`),
        };
      }
    }
    const authorization = request.headers.authorization;
    if (authorization?.toLowerCase().startsWith('bearer ')) {
      const principal = this.principalForToken(authorization.slice(7).trim());
      if (!principal) return undefined;
      return { principal, via: 'bearer', csrf: this.bound(`bearer|${principal.role}`) };
    }
    const id = parseCookies(request.headers.cookie).get(SESSION_COOKIE);
    const session = id ? this.sessions.get(id) : undefined;
    if (!id || !session) return undefined;
    if (session.expiresAt < Date.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return { principal: session.principal, via: 'session', csrf: session.csrf, sessionId: id };
  }

  /** A CSRF token bound to a principal that has no session of ours (hook, bearer). */
  private bound(subject: string): string {
    return createHmac('sha256', this.secret).update(`csrf|${subject}`).digest('base64url');
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, session] of this.sessions) if (session.expiresAt < now) this.sessions.delete(id);
  }
}
