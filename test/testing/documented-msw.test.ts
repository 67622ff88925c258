import { documentedBehaviours } from './documented.js';
import { mswTransport } from './support.js';

documentedBehaviours(mswTransport);
