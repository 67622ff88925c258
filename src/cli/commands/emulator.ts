import { InvalidArgumentError, Option } from 'commander';
import { parseSiteRef } from 'typeorm-sharepoint';
import type { FaultRule } from 'typeorm-sharepoint/testing';
import type { Cli, GlobalOptions } from '../context.js';
import { parsePort, parseSeed } from '../parsers.js';

interface EmulatorCommandOptions {
  port: number;
  host: string;
  site?: string[];
  seed?: number;
  ruPerMinute?: number;
  latencyMs?: number;
  latencyPerItemMs?: number;
  deltaRepeatProbability?: number;
  batchShuffle: boolean;
  fault?: FaultRule[];
}

const numberParser = (rule: string, ok: (n: number) => boolean) => (value: string) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !ok(n))
    throw new InvalidArgumentError(`expected ${rule}.`);
  return n;
};
const parsePositive = numberParser('a number > 0', (n) => n > 0);
const parseNonNegative = numberParser('a number ≥ 0', (n) => n >= 0);
const parseProbability = numberParser('a number from 0 to 1', (n) => n >= 0 && n <= 1);

const FAULT_KEYS = [
  'method',
  'path',
  'pathPattern',
  'scope',
  'status',
  'retryAfterSeconds',
  'latencyMs',
  'drop',
  'lostResponse',
  'probability',
  'count',
];

/** `--fault <json>` (repeatable): a FaultRule as JSON; `pathPattern` becomes the rule's RegExp path. */
function parseFault(value: string, previous: FaultRule[] = []): FaultRule[] {
  const refuse = (why: string) => new InvalidArgumentError(`expected a JSON fault rule (${why}).`);
  let rule: FaultRule & { pathPattern?: string };
  try {
    rule = JSON.parse(value);
  } catch (error) {
    throw refuse((error as Error).message);
  }
  if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) throw refuse('not an object');
  const unknown = Object.keys(rule).filter((k) => !FAULT_KEYS.includes(k));
  if (unknown.length) throw refuse(`unknown key ${unknown.join(', ')}; known: ${FAULT_KEYS.join(', ')}`);
  const { pathPattern, ...rest } = rule;
  if (pathPattern === undefined) return [...previous, rest];
  try {
    return [...previous, { ...rest, path: new RegExp(pathPattern) }];
  } catch (error) {
    throw refuse((error as Error).message);
  }
}

/** `emulator`: the SharePoint emulator on loopback. */
export function emulatorCommand({ program, out }: Cli): void {
  program
    .command('emulator')
    .description('run the SharePoint emulator on loopback (Graph paths under /v1.0)')
    .addOption(
      new Option('--port <port>', 'port to listen on (0 picks a free one)')
        .default(4010)
        .argParser(parsePort),
    )
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--site <host:/path...>', 'a site to serve (repeatable); others answer 404')
    .option('--seed <n>', 'seed for deterministic shuffling and faults', parseSeed)
    .option('--ru-per-minute <n>', 'resource-unit budget per rolling minute (429 beyond it)', parsePositive)
    .option('--latency-ms <ms>', 'fixed time every HTTP call takes', parseNonNegative)
    .option('--latency-per-item-ms <ms>', 'added time per list item an answer carries', parseNonNegative)
    .option('--delta-repeat-probability <p>', 'chance a delta page repeats an entry (0–1)', parseProbability)
    .option('--no-batch-shuffle', 'answer $batch requests in the order asked')
    .option(
      '--fault <json>',
      'a fault rule, repeatable: {"method":"POST","pathPattern":"/items$","status":429,"retryAfterSeconds":2,"probability":0.1} (keys of FaultRule; pathPattern is a RegExp source, path an exact path)',
      parseFault,
    )
    .action(async (options: EmulatorCommandOptions) => {
      const { createEmulator } = await import('typeorm-sharepoint/testing');
      // `--site` after `emulator` is usually taken by the program-level option (same name): use either.
      const given = options.site?.length ? options.site : (program.opts<GlobalOptions>().site ?? []);
      const sites = given.length ? given : ['contoso.sharepoint.com:/sites/crm'];
      for (const site of sites) parseSiteRef(site, '--site');
      const emulator = createEmulator({
        sites,
        ...(options.seed === undefined ? {} : { seed: options.seed }),
        ...(options.ruPerMinute === undefined ? {} : { resourceUnitsPerMinute: options.ruPerMinute }),
        latency: { perRequestMs: options.latencyMs ?? 0, perItemMs: options.latencyPerItemMs ?? 0 },
        ...(options.deltaRepeatProbability === undefined
          ? {}
          : { deltaRepeatProbability: options.deltaRepeatProbability }),
        shuffleBatchResponses: options.batchShuffle,
        faults: options.fault ?? [],
      });
      const { url } = await emulator.listen({ port: options.port, host: options.host });
      out().result(
        { url: `${url}/v1.0`, sites },
        () => `SharePoint emulator at ${url}/v1.0 serving ${sites.join(', ')} (Ctrl+C stops it)`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await emulator.close();
    });
}
