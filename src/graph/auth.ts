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

/** Tokens are reused until this long before they expire. */
const REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * Caches the access token, shares one `getToken` call among concurrent callers, and drops a
 * token that Graph refused (401) so the next caller fetches a fresh one.
 */
export class TokenProvider {
  private cached?: { token: string; expiresOnTimestamp: number };
  private inflight?: Promise<string>;

  constructor(
    private readonly credential: TokenCredential,
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
      result = await this.credential.getToken(this.scopes);
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
