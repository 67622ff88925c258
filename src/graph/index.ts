export type { AuthenticationProvider, GraphCredential, TokenCredential } from './auth.js';
export { GraphClient } from './client.js';
export { resourceUnitCost } from './cost.js';
export { GraphError } from './errors.js';
export {
  type BudgetLedger,
  type LeaseRequest,
  type LedgerFigures,
  type LedgerGrant,
  type LedgerState,
  type LedgerStore,
  MemoryLedgerStore,
  StoreLedger,
  settleLease,
} from './ledger.js';
export {
  type BudgetFigures,
  type BudgetOptions,
  DEFAULT_RESOURCE_UNITS_PER_DAY,
  DEFAULT_RESOURCE_UNITS_PER_MINUTE,
  type LimiterOptions,
  limiterFromBudget,
  type RateLimitHeaders,
  ResourceUnitLimiter,
} from './limiter.js';
export { odataString } from './odata.js';
export { CREDENTIAL_SECRETS } from './redact.js';
export {
  expandFields,
  fieldEquals,
  graphPath,
  itemIdRange,
  LATEST_DELTA_TOKEN,
  listIdOfResource,
  listResource,
  ODATA,
} from './resources.js';
export type {
  BatchResult,
  GraphClientOptions,
  GraphLogger,
  GraphMethod,
  GraphPage,
  GraphRequest,
  GraphRequestEvent,
  GraphRequestInit,
  GraphResponse,
  GraphStats,
} from './types.js';
