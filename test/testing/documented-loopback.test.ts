import { documentedBehaviours } from './documented.js';
import { loopbackTransport } from './support.js';

documentedBehaviours(loopbackTransport);
