import { Option } from 'commander';
import { parseSiteRef } from 'typeorm-sharepoint';
import type { Cli, GlobalOptions } from '../context.js';
import { parsePort, parseSeed } from '../parsers.js';

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
    .action(async (options: { port: number; host: string; site?: string[]; seed?: number }) => {
      const { createEmulator } = await import('typeorm-sharepoint/testing');
      // `--site` after `emulator` is usually taken by the program-level option (same name): use either.
      const given = options.site?.length ? options.site : (program.opts<GlobalOptions>().site ?? []);
      const sites = given.length ? given : ['contoso.sharepoint.com:/sites/crm'];
      for (const site of sites) parseSiteRef(site, '--site');
      const emulator = createEmulator({
        sites,
        ...(options.seed === undefined ? {} : { seed: options.seed }),
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
