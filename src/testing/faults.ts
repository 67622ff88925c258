import type { SeededRandom } from './random.js';
import type { FaultHandle, FaultRule } from './types.js';

export interface FaultEffects {
  status?: number;
  retryAfterSeconds?: number;
  latencyMs: number;
  drop: boolean;
  lostResponse: boolean;
  /** For the log, e.g. 'status:503,latency:200'. */
  description?: string;
  hits: number;
}

interface ActiveRule {
  rule: FaultRule;
  hits: number;
}

/** Injected faults, tried in injection order; probabilities roll on the emulator's seeded generator. */
export class FaultRegistry {
  private rules: ActiveRule[] = [];

  constructor(private readonly random: SeededRandom) {}

  inject(rule: FaultRule): FaultHandle {
    const probability = rule.probability ?? 1;
    if (probability < 0 || probability > 1) throw new Error('FaultRule.probability must be between 0 and 1.');
    const active: ActiveRule = { rule: { ...rule }, hits: 0 };
    this.rules.push(active);
    return {
      remove: () => {
        this.rules = this.rules.filter((r) => r !== active);
      },
      get hits() {
        return active.hits;
      },
    };
  }

  clear(): void {
    this.rules = [];
  }

  evaluate(method: string, path: string, scope: 'request' | 'inner'): FaultEffects {
    const effects: FaultEffects = { latencyMs: 0, drop: false, lostResponse: false, hits: 0 };
    const parts: string[] = [];
    for (const active of this.rules) {
      const { rule } = active;
      const ruleScope = rule.scope ?? 'any';
      if (ruleScope !== 'any' && ruleScope !== scope) continue;
      if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) continue;
      if (rule.path !== undefined) {
        if (typeof rule.path === 'string') {
          if (rule.path !== path) continue;
        } else {
          rule.path.lastIndex = 0;
          if (!rule.path.test(path)) continue;
        }
      }
      if (rule.count !== undefined && active.hits >= rule.count) continue;
      if (!this.random.chance(rule.probability ?? 1)) continue;
      active.hits++;
      effects.hits++;
      if (rule.latencyMs) {
        effects.latencyMs += rule.latencyMs;
        parts.push(`latency:${rule.latencyMs}`);
      }
      if (rule.status !== undefined && effects.status === undefined) {
        effects.status = rule.status;
        effects.retryAfterSeconds = rule.retryAfterSeconds;
        parts.push(`status:${rule.status}`);
      }
      if (rule.drop) {
        effects.drop = true;
        parts.push('drop');
      }
      if (rule.lostResponse) {
        effects.lostResponse = true;
        parts.push('lostResponse');
      }
    }
    if (parts.length > 0) effects.description = parts.join(',');
    return effects;
  }
}
