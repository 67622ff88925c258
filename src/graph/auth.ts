import { GraphError } from './errors.js';
import type { CREDENTIAL_SECRETS, SecretScrubber } from './redact.js';

/** Structural: every `@azure/identity` credential fits; no runtime dependency on `@azure/*`. */
export interface TokenCredential {
  getToken(
    scopes: string | string[],
    options?: { abortSignal?: AbortSignal },
  ): Promise<{ token: string; expiresOnTimestamp: number } | null>;
  /** Secrets the credential was built from, redacted by the gateway wherever they would appear. */
  readonly [CREDENTIAL_SECRETS]?: readonly string[];
}

/**
 * The official Graph SDK's `AuthenticationProvider` (`@microsoft/microsoft-graph-client`), structurally: an
 * app that already has one for the SDK can hand the same object to the gateway.
 */
export interface AuthenticationProvider {
  getAccessToken(options?: { scopes?: string[] }): Promise<string>;
}

/** What the gateway accepts for auth: an `@azure/identity` `TokenCredential` or an SDK `AuthenticationProvider`. */
export type GraphCredential = TokenCredential | AuthenticationProvider;

function isTokenCredential(credential: GraphCredential): credential is TokenCredential {
  return typeof (credential as TokenCredential).getToken === 'function';
}

/**
 * An `AuthenticationProvider` answers a bare token: its JWT `exp` says how long it lasts. A token that is not
 * a JWT is used for one request only, and the provider is asked again for the next, as the SDK itself does.
 */
async function tokenFromProvider(
  provider: AuthenticationProvider,
  scopes: string[],
): Promise<{ token: string; expiresOnTimestamp: number } | null> {
  const token = await provider.getAccessToken({ scopes });
  if (typeof token !== 'string' || token === '') return null;
  return { token, expiresOnTimestamp: jwtExpiry(token) ?? 0 };
}

function jwtExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** Tokens are reused until this long before they expire. */
const REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * Caches the access token, shares one `getToken` (or `getAccessToken`) call among concurrent callers, and drops a
 * token that Graph refused (401) so the next caller fetches a fresh one.
 */
export class TokenProvider {
  private cached?: { token: string; expiresOnTimestamp: number };
  private inflight?: Promise<string>;

  constructor(
    private readonly credential: GraphCredential,
    private readonly scopes: string[],
    private readonly scrubber: SecretScrubber,
    private readonly now: () => number = Date.now,
  ) {}

  /** A valid token; `context` names the request for the error if the credential fails. */
  token(context: { method: string; path: string }): Promise<string> {
    if (this.cached && this.cached.expiresOnTimestamp - REFRESH_MARGIN_MS > this.now()) {
      return Promise.resolve(this.cached.token);
    }
    if (!this.inflight) {
      this.inflight = this.fetchToken(context).finally(() => {
        this.inflight = undefined;
      });
    }
    return this.inflight;
  }

  /** Forgets `token` if it is still the cached one (a 401 proved it bad); later callers refresh. */
  invalidate(token: string): void {
    if (this.cached?.token === token) this.cached = undefined;
  }

  private async fetchToken(context: { method: string; path: string }): Promise<string> {
    let result: Awaited<ReturnType<TokenCredential['getToken']>>;
    try {
      result = isTokenCredential(this.credential)
        ? await this.credential.getToken(this.scopes)
        : await tokenFromProvider(this.credential, this.scopes);
    } catch (error) {
      // The credential's message may quote a secret or a token: only a scrubbed copy travels on,
      // and the original error is not attached as `cause`.
      const kind = error instanceof Error ? error.name : typeof error;
      const message = error instanceof Error ? error.message : String(error);
      throw new GraphError(
        {
          status: 0,
          code: 'authenticationFailed',
          method: context.method,
          path: context.path,
          retryable: false,
          detail: `the credential could not get a token (${kind}): ${message}`,
        },
        this.scrubber,
      );
    }
    if (!result?.token) {
      throw new GraphError({
        status: 0,
        code: 'authenticationFailed',
        method: context.method,
        path: context.path,
        retryable: false,
        detail: 'the credential returned no token',
      });
    }
    this.scrubber.remember(result.token);
    this.cached = { token: result.token, expiresOnTimestamp: result.expiresOnTimestamp };
    return result.token;
  }
}
