import { TenantLimiter } from './pool.js';
import type { SharePointWorkspacesOptions } from './types.js';

/** One resource-unit budget per tenant, shared by its workspaces (and, through the ledger, by other processes). */
export class TenantBudgets {
  private readonly limiters = new Map<string, TenantLimiter>();

  constructor(private readonly options: Pick<SharePointWorkspacesOptions, 'defaults' | 'tenantBudget'>) {}

  /** The tenant's limiter, made on first use; host names are case-insensitive, so keys are lower-cased. */
  limiterFor(tenant: string): TenantLimiter {
    const key = tenant.toLowerCase();
    let limiter = this.limiters.get(key);
    if (!limiter) {
      const budget = { ...this.options.defaults?.graph?.budget, ...this.options.tenantBudget };
      limiter = new TenantLimiter({
        resourceUnitsPerWindow: budget.resourceUnitsPerMinute ?? 1200,
        windowMs: budget.windowMs ?? 60_000,
        slowDownBelowRatio: budget.slowDownBelowRatio ?? 0.2,
        ...(budget.resourceUnitsPerDay !== undefined
          ? { resourceUnitsPerDay: budget.resourceUnitsPerDay }
          : {}),
        ...(budget.burst !== undefined ? { burst: budget.burst } : {}),
        ...(budget.leaseMs !== undefined ? { leaseMs: budget.leaseMs } : {}),
        // The tenant is the shared ledger's key (issue 19): every process's workspaces of it spend one budget.
        key: typeof budget.shared === 'object' && budget.shared.key ? budget.shared.key : key,
      });
      this.limiters.set(key, limiter);
    }
    return limiter;
  }
}
