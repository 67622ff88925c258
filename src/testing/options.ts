import type { DispatchSettings } from './http/route.js';
import type { EmulatorOptions } from './types.js';

/** Refuses options that would make the emulator behave unlike SharePoint in silence. */
export function checkOptions(options: EmulatorOptions): void {
  const fail = (name: string, rule: string, value: unknown) => {
    throw new Error(`createEmulator: option '${name}' ${rule} (got ${JSON.stringify(value)}).`);
  };
  if (!Array.isArray(options.sites)) fail('sites', "must be an array of 'hostname:/path'", options.sites);
  for (const ref of options.sites) {
    if (typeof ref !== 'string' || /^[a-z]+:\/\//i.test(ref) || !/^[^/:\s]+:\//.test(ref))
      fail('sites', "needs entries like 'contoso.sharepoint.com:/sites/crm' (no scheme)", ref);
  }
  const positiveInteger = ['defaultPageSize', 'maxPageSize', 'listViewThreshold'] as const;
  for (const name of positiveInteger) {
    const v = options[name];
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) fail(name, 'must be a positive integer', v);
  }
  const nonNegative = {
    latencyMs: options.latencyMs,
    notificationDelayMs: options.notificationDelayMs,
    'latency.perRequestMs': options.latency?.perRequestMs,
    'latency.perItemMs': options.latency?.perItemMs,
  };
  for (const [name, v] of Object.entries(nonNegative)) {
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0))
      fail(name, 'must be a number ≥ 0', v);
  }
  if (options.latency !== undefined && options.latencyMs !== undefined)
    fail('latencyMs', "cannot be given with 'latency' (it is latency.perRequestMs)", options.latencyMs);
  const ru = options.resourceUnitsPerMinute;
  if (ru !== undefined && !(ru > 0))
    fail('resourceUnitsPerMinute', 'must be > 0 (Infinity for no limit)', ru);
  const p = options.deltaRepeatProbability;
  if (p !== undefined && !(p >= 0 && p <= 1)) fail('deltaRepeatProbability', 'must be between 0 and 1', p);
  if (options.seed !== undefined && !Number.isFinite(options.seed))
    fail('seed', 'must be a number', options.seed);
  if (options.faults !== undefined && !Array.isArray(options.faults))
    fail('faults', 'must be an array of fault rules', options.faults);
}

/** The dispatcher's settings: every option with SharePoint's default. */
export function dispatchSettings(options: EmulatorOptions): DispatchSettings {
  return {
    defaultPageSize: options.defaultPageSize ?? 200,
    maxPageSize: options.maxPageSize ?? 5000,
    listViewThreshold: options.listViewThreshold ?? 5000,
    shuffleBatchResponses: options.shuffleBatchResponses ?? true,
    deltaRepeatProbability: options.deltaRepeatProbability ?? 0.05,
    latency: {
      perRequestMs: options.latency?.perRequestMs ?? options.latencyMs ?? 0,
      perItemMs: options.latency?.perItemMs ?? 0,
    },
  };
}
