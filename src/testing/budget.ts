/** The resource-unit budget over a rolling minute, as SharePoint meters an app per tenant. */
export class ResourceBudget {
  private charges: Array<{ at: number; units: number }> = [];
  private static readonly WINDOW_MS = 60_000;

  constructor(
    readonly limit: number,
    private readonly now: () => number,
  ) {}

  private used(at: number): number {
    const since = at - ResourceBudget.WINDOW_MS;
    while (this.charges.length > 0 && this.charges[0]!.at <= since) this.charges.shift();
    return this.charges.reduce((sum, c) => sum + c.units, 0);
  }

  /**
   * Charges `units`. When the budget cannot cover them the request is throttled; its units still count
   * (SharePoint counts throttled calls too), and `retryAfterSeconds` says when enough budget frees.
   */
  charge(units: number): { throttled: false } | { throttled: true; retryAfterSeconds: number } {
    if (!Number.isFinite(this.limit)) {
      this.charges.length = 0;
      return { throttled: false };
    }
    const at = this.now();
    const used = this.used(at);
    if (used + units <= this.limit) {
      this.charges.push({ at, units });
      return { throttled: false };
    }
    this.charges.push({ at, units });
    // Walk the window: the retry fits once (everything still counted) + units <= limit.
    let remaining = used + units + units;
    let freeAt = at + ResourceBudget.WINDOW_MS;
    for (const c of this.charges) {
      if (remaining <= this.limit) break;
      remaining -= c.units;
      freeAt = c.at + ResourceBudget.WINDOW_MS;
    }
    return { throttled: true, retryAfterSeconds: Math.max(1, Math.ceil((freeAt - at) / 1000)) };
  }

  /** `RateLimit-*` headers once 80 % of the budget is used, as SharePoint sends them before refusing. */
  headers(): Record<string, string> {
    if (!Number.isFinite(this.limit)) return {};
    const at = this.now();
    const used = this.used(at);
    if (used < this.limit * 0.8) return {};
    const oldest = this.charges[0];
    const reset = oldest ? Math.max(1, Math.ceil((oldest.at + ResourceBudget.WINDOW_MS - at) / 1000)) : 1;
    return {
      'RateLimit-Limit': String(this.limit),
      'RateLimit-Remaining': String(Math.max(0, this.limit - used)),
      'RateLimit-Reset': String(reset),
    };
  }
}
