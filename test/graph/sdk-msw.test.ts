import { mswTransport } from '../testing/support.js';
import { sdkBehaviours } from './sdk.js';

sdkBehaviours(mswTransport);
