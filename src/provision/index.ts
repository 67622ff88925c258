// Bootstrap: resolve the site (site.ts), plan lists and columns (plan.ts), apply idempotently (apply.ts),
// and say what was planned or done (format.ts).

export { type ApplySettings, applyProvisioning, type ProvisioningResult } from './apply.js';
export { BootstrapError, type DriftEntry, DriftError, PermissionError, SiteNotFoundError } from './errors.js';
export { formatPlan, formatProvisioningResult } from './format.js';
export { type ListPlan, type ProvisioningPlan, planProvisioning } from './plan.js';
export { resolveSite, type SiteInfo } from './site.js';
