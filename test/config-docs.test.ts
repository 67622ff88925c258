import { readFileSync } from 'node:fs';
import path from 'node:path';
import { configFromEnv } from 'typeorm-sharepoint';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// Issue 15, "Install and docs": docs/configuration.md covers every option the types have, states one
// webhook-expiration default, and lists exactly the boolean spellings accepted.

const root = path.resolve(import.meta.dirname, '..');
const doc = (name: string) => readFileSync(path.join(root, 'docs', name), 'utf8');

/** Every option path of `SharePointSyncOptions`, read from the types (`writeback.batchSize`, …). */
function optionPaths(): string[] {
  const program = ts.createProgram([path.join(root, 'src/index.ts')], {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    experimentalDecorators: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(path.join(root, 'src/sync/options.ts'))!;
  let options: ts.Type | undefined;
  source.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node) && node.name.text === 'SharePointSyncOptions')
      options = checker.getTypeAtLocation(node);
  });
  const paths: string[] = [];
  const walk = (type: ts.Type, prefix: string, depth: number) => {
    for (const property of checker.getPropertiesOfType(type)) {
      const name = `${prefix}${property.name}`;
      const declared = checker.getNonNullableType(checker.getTypeOfSymbol(property));
      // The option groups are documented option by option; graph.* lives in graph.md.
      const group =
        depth < 1 &&
        ['bootstrap', 'cache', 'writeback', 'inbound', 'webhooks', 'metrics', 'site'].includes(property.name);
      if (group) walk(declared, `${name}.`, depth + 1);
      else paths.push(name);
    }
  };
  walk(options!, '', 0);
  return paths;
}

describe('docs/configuration.md is true', () => {
  it('names every option the types have (graph.* in graph.md)', () => {
    const configuration = doc('configuration.md');
    const graph = doc('graph.md');
    const paths = optionPaths();
    expect(paths).toContain('writeback.batchSize');
    expect(paths).toContain('webhooks.expirationDays');
    const missing = paths.filter((p) =>
      p === 'graph' ? !configuration.includes('`graph.*`') : !configuration.includes(`\`${p}\``),
    );
    expect(missing, 'options missing from docs/configuration.md').toEqual([]);
    const graphOptions = [
      'baseUrl',
      'scopes',
      'timeoutMs',
      'retry.attempts',
      'budget.resourceUnitsPerMinute',
      'limiter',
      'logger',
      'onRequest',
      'fetch',
      'listItemDelta',
    ];
    expect(graphOptions.filter((o) => !graph.includes(`\`${o}\``))).toEqual([]);
  });

  it('states one default for the webhook expiration: the option’s 29 days, also when read from the environment', () => {
    const config = configFromEnv({
      SHAREPOINT_SITE_HOSTNAME: 'contoso.sharepoint.com',
      SHAREPOINT_SITE_PATH: '/sites/crm',
    });
    expect(config.webhooks.expirationDays).toBeUndefined();
    const inbound = readFileSync(path.join(root, 'src/inbound/index.ts'), 'utf8');
    expect(inbound).toMatch(/expirationDays \?\? 29\b/);
    const configuration = doc('configuration.md');
    expect(configuration).toMatch(/\| `webhooks\.expirationDays` \| `29` \|/);
    expect(configuration).toMatch(/\| `SHAREPOINT_WEBHOOK_EXPIRATION_DAYS` \| days > 0 \| `29`/);
    expect(configuration).not.toMatch(/EXPIRATION_DAYS` \| days > 0 \| `3`/);
  });

  it('accepts exactly the boolean spellings it lists, in any case', () => {
    const base = { SHAREPOINT_SITE_HOSTNAME: 'contoso.sharepoint.com', SHAREPOINT_SITE_PATH: '/sites/crm' };
    const lazy = (value: string) => configFromEnv({ ...base, SHAREPOINT_LAZY_LOAD_DATA: value }).cache.lazy;
    for (const yes of ['true', '1', 'yes', 'on', 'TRUE', 'Yes', 'ON']) expect(lazy(yes), yes).toBe(true);
    for (const no of ['false', '0', 'no', 'off', 'FALSE', 'No', 'Off']) expect(lazy(no), no).toBe(false);
    for (const bad of ['y', 'n', 'enabled', 'disabled', '2', 'truthy'])
      expect(() => lazy(bad), bad).toThrow(/SHAREPOINT_LAZY_LOAD_DATA.*1\/0, yes\/no, on\/off/);
    expect(doc('configuration.md')).toContain(
      'Booleans accept exactly `true`/`false`, `1`/`0`, `yes`/`no` and `on`/`off`, in any case',
    );
  });
});
