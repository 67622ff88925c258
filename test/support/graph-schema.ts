import fs from 'node:fs';
import path from 'node:path';

interface TypeDef {
  kind: string;
  base?: string;
  open?: boolean;
  properties?: Record<string, { type: string; nullable?: boolean }>;
  /** Navigation properties (e.g. a list's `columns`, an item's `fields`): name → type. */
  navigation?: Record<string, string>;
  members?: string[];
}

const file = path.resolve(import.meta.dirname, '../../../shared/graph/v1.0-lists-schema.json');
const fallback = '/work/shared/graph/v1.0-lists-schema.json';
const schema = JSON.parse(fs.readFileSync(fs.existsSync(file) ? file : fallback, 'utf8')) as {
  types: Record<string, TypeDef>;
};

/**
 * Properties Graph v1.0 answers with, shown in its documentation's examples, that this metadata snapshot
 * lacks: `notificationContentType` (subscription-post-subscriptions.md, the 201 answer).
 */
const DOCUMENTED: Record<string, Record<string, string>> = {
  subscription: { notificationContentType: 'Edm.String' },
};

function propertiesOf(typeName: string): Map<string, string> {
  const out = new Map<string, string>(Object.entries(DOCUMENTED[typeName] ?? {}));
  for (let t: string | undefined = typeName; t; t = schema.types[t]?.base) {
    const def = schema.types[t];
    if (!def) break;
    for (const [name, p] of Object.entries(def.properties ?? {})) out.set(name, p.type);
    for (const [name, type] of Object.entries(def.navigation ?? {})) out.set(name, type);
  }
  return out;
}

/**
 * Every property of `value` must be one that the official Graph v1.0 schema lists for `typeName` (or its
 * bases), recursively for complex types. `fieldValueSet` is open (any column name). Returns the violations.
 */
export function shapeViolations(typeName: string, value: unknown, at = typeName): string[] {
  if (value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => shapeViolations(typeName, v, `${at}[${i}]`));
  const def = schema.types[typeName];
  if (!def) return [];
  if (def.open || typeName === 'fieldValueSet') return [];
  const known = propertiesOf(typeName);
  const problems: string[] = [];
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    // Annotations: of the object (`@odata.etag`) or of one property (`items@odata.nextLink`).
    if (key.includes('@odata.')) continue;
    const type = known.get(key);
    if (!type) {
      problems.push(`${at}.${key} is not a property of ${typeName}`);
      continue;
    }
    const inner = type.replace(/^Collection\((.*)\)$/, '$1');
    if (!inner.startsWith('Edm.')) problems.push(...shapeViolations(inner, v, `${at}.${key}`));
  }
  return problems;
}
