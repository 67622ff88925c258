export type { TokenCredential } from './auth.js';
export {
  type BatchResult,
  GraphClient,
  type GraphClientOptions,
  type GraphLogger,
  type GraphMethod,
  type GraphPage,
  type GraphRequest,
  type GraphRequestEvent,
  type GraphRequestInit,
  type GraphResponse,
  type GraphStats,
} from './client.js';
export { resourceUnitCost } from './cost.js';
export { GraphError } from './errors.js';
export { type LimiterOptions, ResourceUnitLimiter } from './limiter.js';
export { odataString } from './odata.js';
export { CREDENTIAL_SECRETS } from './redact.js';
