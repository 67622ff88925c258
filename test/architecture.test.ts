import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// docs/architecture.md's import table is the rule; this test reads it and every import in src/.

const root = path.resolve(import.meta.dirname, '..');
const src = path.join(root, 'src');
const doc = readFileSync(path.join(root, 'docs/architecture.md'), 'utf8');

function between(begin: string, end: string): string {
  const from = doc.indexOf(begin);
  const to = doc.indexOf(end);
  expect(from, `${begin} in docs/architecture.md`).toBeGreaterThanOrEqual(0);
  return doc.slice(from + begin.length, to);
}

/** folder → the folders it may import, from the table. */
function allowedImports(): Map<string, Set<string>> {
  const rows = between('<!-- imports:begin -->', '<!-- imports:end -->')
    .split('\n')
    .filter((line) => /^\| `/.test(line));
  const folders = rows.map((row) => /^\| `([^`]+)`/.exec(row)![1]!);
  const table = new Map<string, Set<string>>();
  for (const row of rows) {
    const cells = row.split('|').map((c) => c.trim());
    const folder = /`([^`]+)`/.exec(cells[1]!)![1]!;
    const may = cells[3]!;
    const named = [...may.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    table.set(
      folder,
      new Set(
        may.startsWith('every folder except')
          ? folders.filter((f) => !named.includes(f) && f !== folder)
          : named,
      ),
    );
  }
  return table;
}

function debts(): Set<string> {
  const out = new Set<string>();
  for (const line of between('<!-- debts:begin -->', '<!-- debts:end -->').split('\n')) {
    if (!line.startsWith('- ')) continue;
    const head = line.slice(2, line.indexOf(':') === -1 ? undefined : line.indexOf(':'));
    for (const m of head.matchAll(/`(\w+) -> (\w+)`/g)) out.add(`${m[1]} -> ${m[2]}`);
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith('.ts') ? [full] : [];
  });
}

/** `src/cache/loader.ts` → `cache`; `src/sync.ts` → `sync`. */
function folderOf(file: string): string {
  const [first] = path.relative(src, file).split(path.sep);
  return first!.replace(/\.ts$/, '');
}

/** Every relative import between two folders: `from → to` with the file that makes it. */
function crossFolderImports(): { edge: string; file: string }[] {
  const found: { edge: string; file: string }[] = [];
  for (const file of sourceFiles(src)) {
    const text = readFileSync(file, 'utf8');
    const specifiers = [
      ...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'(\.[^']+)'/g),
      ...text.matchAll(/import\(\s*'(\.[^']+)'\s*\)/g),
    ].map((m) => m[1]!);
    for (const specifier of specifiers) {
      const target = path.resolve(path.dirname(file), specifier);
      const from = folderOf(file);
      const to = folderOf(target.replace(/\.js$/, '.ts'));
      if (from !== to) found.push({ edge: `${from} -> ${to}`, file: path.relative(root, file) });
    }
  }
  return found;
}

describe('imports follow docs/architecture.md', () => {
  it('every folder of src/ has a row, and every row a folder', () => {
    const table = allowedImports();
    const folders = new Set(sourceFiles(src).map(folderOf));
    expect([...folders].sort()).toEqual([...table.keys()].sort());
  });

  it('no import breaks the table, except the debts it lists; each listed debt still exists', () => {
    const table = allowedImports();
    const listed = debts();
    const imports = crossFolderImports();
    const broken = imports.filter(({ edge }) => {
      const [from, to] = edge.split(' -> ') as [string, string];
      return !table.get(from)?.has(to) && !listed.has(edge);
    });
    expect(broken, 'imports the table does not allow (docs/architecture.md)').toEqual([]);
    const present = new Set(imports.map((i) => i.edge));
    const paid = [...listed].filter((edge) => !present.has(edge));
    expect(paid, 'debts no longer in the code: strike them from docs/architecture.md').toEqual([]);
    for (const edge of listed) {
      const [from, to] = edge.split(' -> ') as [string, string];
      expect(table.get(from)?.has(to), `${edge} is a debt, not an allowed import`).toBe(false);
    }
  });

  it('no import circle between folders once the debts are paid', () => {
    const listed = debts();
    const edges = new Map<string, Set<string>>();
    for (const { edge } of crossFolderImports()) {
      if (listed.has(edge)) continue;
      const [from, to] = edge.split(' -> ') as [string, string];
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from)!.add(to);
    }
    const state = new Map<string, 'visiting' | 'done'>();
    const cycle: string[] = [];
    const visit = (node: string, trail: string[]): boolean => {
      if (state.get(node) === 'done') return false;
      if (state.get(node) === 'visiting') {
        cycle.push(...trail.slice(trail.indexOf(node)), node);
        return true;
      }
      state.set(node, 'visiting');
      for (const next of edges.get(node) ?? []) if (visit(next, [...trail, node])) return true;
      state.set(node, 'done');
      return false;
    };
    for (const node of edges.keys()) if (visit(node, [])) break;
    expect(cycle.join(' → ')).toBe('');
  });
});
