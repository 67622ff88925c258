/**
 * Scrubs secrets out of text before it reaches an error message or a log line. Credential errors
 * (from @azure/identity or MSAL) and network errors may quote a client secret, an assertion or a
 * token; none of that may leave the gateway.
 */

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
  /** Exact strings known to be secret (the tokens this client obtained). */
  private readonly known = new Set<string>();

  remember(secret: string | undefined): void {
    if (secret && secret.length >= 8) this.known.add(secret);
    // Bounded: only the last few tokens matter.
    if (this.known.size > 8) this.known.delete(this.known.values().next().value!);
  }

  scrub(text: string): string {
    let result = text;
    for (const secret of this.known) result = result.split(secret).join('[redacted]');
    for (const [pattern, replacement] of PATTERNS) {
      result = result.replace(pattern, replacement as never);
    }
    return result;
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
