import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as surface from '../src/index.js';

// docs/errors.md lists every error class of the library with its code; this test reads the sources and the page.

const root = path.resolve(import.meta.dirname, '..');
const src = path.join(root, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === 'testing' ? [] : sourceFiles(full);
    return name.endsWith('.ts') ? [full] : [];
  });
}

/** Every `class X extends Y` of the library (the emulator in src/testing is not the library). */
function errorClasses(): Map<string, { base: string; body: string; file: string }> {
  const classes = new Map<string, { base: string; body: string; file: string }>();
  for (const file of sourceFiles(src)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/export (?:abstract )?class (\w+) extends (\w+) \{([\s\S]*?)\n\}/g)) {
      classes.set(m[1]!, { base: m[2]!, body: m[3]!, file: path.relative(root, file) });
    }
  }
  return classes;
}

function documented(): Map<string, string> {
  const doc = readFileSync(path.join(root, 'docs/errors.md'), 'utf8');
  const table = doc.slice(doc.indexOf('<!-- errors:begin -->'), doc.indexOf('<!-- errors:end -->'));
  const rows = new Map<string, string>();
  for (const m of table.matchAll(/^\| `(\w+)` \| (`?)([^|`]+)\2 \|/gm)) rows.set(m[1]!, m[3]!.trim());
  return rows;
}

describe('errors', () => {
  const classes = errorClasses();
  const ours = [...classes.keys()].filter((name) => {
    for (let c: string | undefined = name; c; c = classes.get(c)?.base)
      if (c === 'SharePointSyncError') return true;
    return false;
  });

  it('every class named *Error in the library extends SharePointSyncError', () => {
    const stray = [...classes.entries()]
      .filter(([name]) => /Error$/.test(name) && !ours.includes(name))
      .map(([name, c]) => `${name} (${c.file}) extends ${c.base}`);
    expect(stray).toEqual([]);
    expect(ours.length).toBeGreaterThan(20);
  });

  it('every error class has a stable code, docs/errors.md lists it, and the public surface exports it', () => {
    const docs = documented();
    for (const name of ours.filter((n) => n !== 'SharePointSyncError')) {
      const c = classes.get(name)!;
      const code = /readonly code(?:: string)? = '([A-Z_]+)'/.exec(c.body)?.[1];
      if (name === 'GraphError') expect(docs.get(name), name).toBe("Graph's code");
      else {
        expect(code, `${name} (${c.file}) declares its code`).toBeDefined();
        expect(docs.get(name), `docs/errors.md row of ${name}`).toBe(code);
      }
      expect(typeof (surface as Record<string, unknown>)[name], `${name} exported from src/index.ts`).toBe(
        'function',
      );
    }
    // No row for a class that does not exist, and no code used twice.
    expect([...docs.keys()].filter((n) => !ours.includes(n))).toEqual([]);
    const codes = [...docs.values()];
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('codes are instance properties, so `error.code` works on what is thrown', () => {
    const config = new surface.ConfigError('options.schema', 'a lower-case identifier', 'Bad');
    expect(config).toBeInstanceOf(surface.SharePointSyncError);
    expect(config.code).toBe('CONFIG_INVALID');
    const settings = new surface.WorkspaceSettingsError('acme', 'settings.site', 'is required');
    expect(settings).toBeInstanceOf(surface.ConfigError);
    expect(settings.code).toBe('WORKSPACE_SETTINGS_INVALID');
    expect(new surface.ClosedError('SharePointSync', 'flush()').message).toMatch(
      /flush\(\) was called after SharePointSync was closed/,
    );
  });

  it('the library throws only its own errors (no bare Error, TypeError or RangeError in src/)', () => {
    const bare = sourceFiles(src).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, i) =>
          /throw new (Error|TypeError|RangeError|SyntaxError)\(/.test(line)
            ? [`${path.relative(root, file)}:${i + 1}`]
            : [],
        ),
    );
    expect(bare).toEqual([]);
  });

  it('there is one public GraphError', () => {
    const named = sourceFiles(src).filter((f) => /class GraphError\b/.test(readFileSync(f, 'utf8')));
    expect(named.map((f) => path.relative(root, f))).toEqual(['src/graph/errors.ts']);
    const emulator = readFileSync(path.join(src, 'testing/errors.ts'), 'utf8');
    expect(emulator).not.toMatch(/class GraphError\b/);
  });
});
