import { batchScenario } from './scenarios/batch.js';
import {
  faultsScenario,
  latencyScenario,
  optionsLogAndBackdoorScenario,
  subscriptionsScenario,
  throttlingScenario,
} from './scenarios/behaviour.js';
import type { Scenario } from './scenarios/common.js';
import {
  deltaScenario,
  itemsScenario,
  pagingScenario,
  sitesListsAndColumnsScenario,
} from './scenarios/resources.js';
import type { Transport } from './support.js';

/** Every behaviour of the emulator, one scenario per function, each its own describe over one emulator. */
export const SCENARIOS: readonly Scenario[] = [
  sitesListsAndColumnsScenario,
  itemsScenario,
  pagingScenario,
  deltaScenario,
  batchScenario,
  throttlingScenario,
  faultsScenario,
  optionsLogAndBackdoorScenario,
  latencyScenario,
  subscriptionsScenario,
];

/** Every scenario over one transport (the msw and loopback files both run these). */
export function emulatorScenarios(transport: Transport): void {
  for (const scenario of SCENARIOS) scenario(transport);
}
