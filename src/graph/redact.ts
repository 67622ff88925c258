/**
 * Scrubs secrets out of text before it reaches an error message or a log line. Credential errors
 * (from @azure/identity or MSAL) and network errors may quote a client secret, an assertion or a
 * token; none of that may leave the gateway. Two layers: the exact values known to be secret (the
 * client secret, the webhook clientState, the tokens obtained) wherever they appear, whatever the words
 * around them, then patterns for secrets nobody told us about.
 */

/**
 * Where a credential carries the secrets it was built from, for the gateway to redact (`configFromEnv`
 * sets it). Any credential may set it: `{ [CREDENTIAL_SECRETS]: ['…'] }`.
 */
export const CREDENTIAL_SECRETS: unique symbol = Symbol.for('typeorm-sharepoint.credentialSecrets') as never;

/**
 * The secrets a credential is known to hold: `CREDENTIAL_SECRETS`, and `clientSecret` (@azure/identity's
 * ClientSecretCredential keeps it there), also inside the Graph SDK's `TokenCredentialAuthenticationProvider`
 * (which keeps the credential it wraps as `tokenCredential`).
 */
export function secretsOf(credential: unknown, depth = 0): string[] {
  if (!credential || typeof credential !== 'object') return [];
  const out: string[] = [];
  const listed = (credential as { [CREDENTIAL_SECRETS]?: unknown })[CREDENTIAL_SECRETS];
  if (Array.isArray(listed)) for (const s of listed) if (typeof s === 'string') out.push(s);
  const clientSecret = (credential as { clientSecret?: unknown }).clientSecret;
  if (typeof clientSecret === 'string') out.push(clientSecret);
  if (depth === 0) out.push(...secretsOf((credential as { tokenCredential?: unknown }).tokenCredential, 1));
  return out;
}

/** Shorter values are not replaced: they would turn ordinary words of messages into `[redacted]`. */
const MIN_SECRET_LENGTH = 6;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const PATTERNS: Array<[RegExp, string | ((match: string, ...groups: string[]) => string)]> = [
  // Authorization header values, in any casing.
  [/\b(Bearer|Basic)\s+[^\s"',;]+/gi, '$1 [redacted]'],
  // key=value or "key": "value" pairs whose key names a secret (form bodies, URLs, JSON, config dumps).
  [
    /\b((?:client[_-]?secret|client[_-]?assertion|assertion|secret|password|passwd|pwd|access[_-]?token|refresh[_-]?token|id[_-]?token|token|api[_-]?key|sig|signature|authorization)["']?\s*[=:]\s*["']?)[^\s"'&,;}]+/gi,
    '$1[redacted]',
  ],
  // JSON Web Tokens (access tokens, client assertions).
  [/\beyJ[\w-]*\.[\w-]*\.[\w-]*/g, '[redacted]'],
  // Entra ID client secrets have the shape `xxx8Q~…`.
  [/[\w.~-]{3}\dQ~[\w.~-]{20,}/g, '[redacted]'],
  // Any other long opaque string mixing letters and digits (keys, SAS signatures); GUIDs stay readable.
  [
    /(?<![\w.~+=-])(?=[\w.~+=-]*\d)(?=[\w.~+=-]*[A-Za-z])[\w.~+=-]{32,}/g,
    (match: string) => (GUID.test(match) ? match : '[redacted]'),
  ],
];

export class SecretScrubber {
  /** Secrets for the life of the client (client secret, clientState). */
  private readonly pinned = new Set<string>();
  /** The tokens this client obtained; only the last few matter. */
  private readonly tokens = new Set<string>();
  /** Every known value with its encoded forms (URL, JSON), longest first. */
  private known: string[] = [];

  /** A value secret for the life of the client: it is replaced wherever it appears. */
  pin(secret: string | undefined): void {
    if (!secret || secret.length < MIN_SECRET_LENGTH || this.pinned.has(secret)) return;
    this.pinned.add(secret);
    this.rebuild();
  }

  /** A token just obtained (bounded: the last 8). */
  remember(secret: string | undefined): void {
    if (!secret || secret.length < MIN_SECRET_LENGTH || this.tokens.has(secret)) return;
    this.tokens.add(secret);
    if (this.tokens.size > 8) this.tokens.delete(this.tokens.values().next().value!);
    this.rebuild();
  }

  private rebuild(): void {
    const forms = new Set<string>();
    for (const secret of [...this.pinned, ...this.tokens]) {
      forms.add(secret);
      forms.add(encodeURIComponent(secret));
      forms.add(JSON.stringify(secret).slice(1, -1));
    }
    this.known = [...forms].sort((a, b) => b.length - a.length);
  }

  scrub(text: string): string {
    let result = text;
    for (const secret of this.known) result = result.split(secret).join('[redacted]');
    for (const [pattern, replacement] of PATTERNS) {
      result = result.replace(pattern, replacement as never);
    }
    return result;
  }

  /** The same logger, every message and field scrubbed. */
  logger<L extends object>(logger: L): L {
    const out: Record<string, unknown> = {};
    for (const level of ['debug', 'info', 'warn', 'error'] as const) {
      const fn = (logger as Record<string, unknown>)[level];
      if (typeof fn !== 'function') continue;
      out[level] = (message: string, fields?: Record<string, unknown>) =>
        fn.call(logger, this.scrub(String(message)), this.scrubFields(fields));
    }
    return out as L;
  }

  /** Scrubs every string inside a log-fields object (shallow copy, nested objects too). */
  scrubFields(fields: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
    if (!fields) return undefined;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(fields)) out[key] = this.scrubValue(value, 0);
    return out;
  }

  private scrubValue(value: unknown, depth: number): unknown {
    if (typeof value === 'string') return this.scrub(value);
    if (value instanceof Error) return this.scrub(`${value.name}: ${value.message}`);
    if (depth > 4 || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((v) => this.scrubValue(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) out[key] = this.scrubValue(v, depth + 1);
    return out;
  }
}

/** A scrubber with no known secrets, for messages built before any token exists. */
export const defaultScrubber = new SecretScrubber();
