export type { AuthenticationProvider, GraphCredential, TokenCredential } from './auth.js';
export { GraphClient } from './client.js';
export { resourceUnitCost } from './cost.js';
export { GraphError } from './errors.js';
export { type LimiterOptions, ResourceUnitLimiter } from './limiter.js';
export { odataString } from './odata.js';
export { CREDENTIAL_SECRETS } from './redact.js';
export { expandFields, fieldEquals, graphPath, listIdOfResource, listResource, ODATA } from './resources.js';
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
