import { z } from 'zod';
import { arrayOf } from './arrays.js';
import { ConversionError } from './errors.js';
import type { FieldSchema } from './types.js';

/** A decimal number as PostgreSQL's `numeric` prints it (no exponent, no thousands separator). */
export const DECIMAL = /^-?\d+(\.\d+)?$/;

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** SharePoint keeps dates between these years (earlier or later values are refused). */
const MIN_YEAR = 1900;
const MAX_YEAR = 8900;

const DECIMAL_PLACES = ['none', 'one', 'two', 'three', 'four', 'five'];

export function decimalPlaces(scale: number | undefined): string {
  return scale !== undefined && scale >= 0 && scale < DECIMAL_PLACES.length
    ? DECIMAL_PLACES[scale]!
    : 'automatic';
}

/** SharePoint stores date-times to the second, in UTC: `2024-05-01T12:00:00Z`. */
export function isoSeconds(value: unknown): string {
  const date =
    value instanceof Date ? value : new Date(typeof value === 'number' ? value : String(value).trim());
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new ConversionError(`${JSON.stringify(value)} is not a date`);
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function toNumber(value: unknown): number {
  const n =
    typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : Number(String(value));
  if (typeof value === 'string' && value.trim() === '')
    throw new ConversionError('an empty string is not a number');
  if (!Number.isFinite(n))
    throw new ConversionError(`${JSON.stringify(String(value))} is not a finite number`);
  return n;
}

function toBoolean(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === '1' || value === 'true') return true;
  if (value === 0 || value === '0' || value === 'false') return false;
  throw new ConversionError(`${JSON.stringify(value)} is not a boolean`);
}

/**
 * What `buildField` takes: FieldSchema's descriptive part (one home: its documentation is there; `nullable`
 * defaults to true here), plus the rules only the column definition and the converters use.
 */
export interface FieldSpec
  extends Pick<
      FieldSchema,
      | 'name'
      | 'displayName'
      | 'property'
      | 'databaseName'
      | 'kind'
      | 'required'
      | 'indexed'
      | 'maxLength'
      | 'minimum'
      | 'maximum'
      | 'choices'
      | 'relationTarget'
    >,
    Partial<Pick<FieldSchema, 'nullable'>> {
  unique?: boolean;
  scale?: number;
  /** The id / relation value must be a UUID (the key is a uuid column). */
  uuid?: boolean;
  /** The id / relation key is an integer column. */
  integerKey?: boolean;
  defaultValue?: string;
}

/** The Graph v1.0 `columnDefinition` for a field (only properties of that type). */
function definitionOf(spec: FieldSpec): Record<string, unknown> {
  const base: Record<string, unknown> = {
    name: spec.name,
    displayName: spec.displayName,
    required: spec.required,
    indexed: spec.indexed,
    ...(spec.unique ? { enforceUniqueValues: true } : {}),
    ...(spec.defaultValue !== undefined ? { defaultValue: { value: spec.defaultValue } } : {}),
  };
  switch (spec.kind) {
    case 'id':
    case 'relation':
      return { ...base, text: { maxLength: 36, allowMultipleLines: false } };
    case 'text':
      return { ...base, text: { maxLength: spec.maxLength ?? 255, allowMultipleLines: false } };
    case 'decimal':
      return { ...base, text: { maxLength: 255, allowMultipleLines: false } };
    case 'note':
    case 'json':
    case 'list':
    case 'array':
      return { ...base, text: { allowMultipleLines: true } };
    case 'integer':
    case 'number':
      return {
        ...base,
        number: {
          decimalPlaces: spec.kind === 'integer' ? 'none' : decimalPlaces(spec.scale),
          ...(spec.minimum !== undefined ? { minimum: spec.minimum } : {}),
          ...(spec.maximum !== undefined ? { maximum: spec.maximum } : {}),
        },
      };
    case 'boolean':
      return { ...base, boolean: {} };
    case 'dateTime':
      return { ...base, dateTime: { format: 'dateTime' } };
    case 'date':
      return { ...base, dateTime: { format: 'dateOnly' } };
    case 'choice':
      return {
        ...base,
        choice: { choices: spec.choices ?? [], allowTextEntry: false, displayAs: 'dropDownMenu' },
      };
    case 'multiChoice':
      // Graph v1.0 has no separate multi-choice type: a choice column shown as check boxes takes many values.
      return {
        ...base,
        choice: { choices: spec.choices ?? [], allowTextEntry: false, displayAs: 'checkBoxes' },
      };
  }
}

// Over 80 lines: one case per field kind, each a pair of converters (a table by kind, not a sequence of steps).
function converters(spec: FieldSpec): Pick<FieldSchema, 'toSharePoint' | 'fromSharePoint'> {
  const max = spec.maxLength;
  const checkLength = (s: string) => {
    if (max !== undefined && s.length > max)
      throw new ConversionError(`${s.length} characters, longer than ${max}`);
    return s;
  };
  switch (spec.kind) {
    case 'id':
    case 'relation':
      return {
        toSharePoint: (v) => String(v),
        fromSharePoint: (raw) => {
          const s = String(raw).trim();
          if (spec.integerKey) {
            if (!/^-?\d+$/.test(s)) throw new ConversionError(`${JSON.stringify(s)} is not an integer id`);
            return Number(s);
          }
          if (spec.uuid && !UUID.test(s)) throw new ConversionError(`${JSON.stringify(s)} is not a UUID`);
          return s;
        },
      };
    case 'text':
    case 'note':
      return {
        toSharePoint: (v) => (typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : String(v)),
        fromSharePoint: (raw) => checkLength(typeof raw === 'string' ? raw : String(raw)),
      };
    case 'integer':
      return {
        toSharePoint: toNumber,
        fromSharePoint: (raw) => {
          const n = toNumber(raw);
          if (!Number.isSafeInteger(n)) throw new ConversionError(`${n} is not a whole number`);
          return n;
        },
      };
    case 'number':
      return { toSharePoint: toNumber, fromSharePoint: (raw) => toNumber(raw) };
    case 'boolean':
      return { toSharePoint: toBoolean, fromSharePoint: toBoolean };
    case 'dateTime':
      return { toSharePoint: isoSeconds, fromSharePoint: (raw) => new Date(isoSeconds(raw)) };
    case 'date':
      return {
        toSharePoint: (v) =>
          typeof v === 'string' && /^\d{4}-\d\d-\d\d$/.test(v)
            ? `${v}T00:00:00Z`
            : isoSeconds(v).replace(/T.*$/, 'T00:00:00Z'),
        fromSharePoint: (raw) => isoSeconds(raw).slice(0, 10),
      };
    case 'choice':
      return {
        toSharePoint: (v) => String(v),
        fromSharePoint: (raw) => {
          const s = String(raw);
          if (!spec.choices?.includes(s))
            throw new ConversionError(`${JSON.stringify(s)} is not one of ${spec.choices?.join(', ')}`);
          return s;
        },
      };
    case 'multiChoice': {
      const checked = (values: (string | null)[]) => {
        for (const v of values) {
          if (v === null) throw new ConversionError('a multi-choice value cannot hold NULL');
          if (!spec.choices?.includes(v))
            throw new ConversionError(`${JSON.stringify(v)} is not one of ${spec.choices?.join(', ')}`);
        }
        return values as string[];
      };
      return {
        // SharePoint has no empty multi-choice value distinct from none: an empty array is sent as empty.
        toSharePoint: (v) => {
          const values = arrayOf(v);
          return values.length === 0 ? null : values;
        },
        fromSharePoint: (raw) => {
          if (!Array.isArray(raw))
            throw new ConversionError('not a multi-choice value (an array of choices)');
          return checked(raw.map(String));
        },
      };
    }
    case 'array':
      return {
        toSharePoint: (v) => JSON.stringify(arrayOf(v)),
        fromSharePoint: (raw) => {
          const parsed = jsonArray(raw, 'not a JSON array of strings');
          if (parsed.some((e) => e !== null && typeof e !== 'string'))
            throw new ConversionError('not a JSON array of strings');
          return parsed;
        },
      };
    case 'decimal': {
      // Exact: a SharePoint number is a double (15–17 significant digits), PostgreSQL's numeric is not.
      const exact = (v: unknown) => {
        const s = (typeof v === 'number' ? decimalText(v) : String(v)).trim();
        if (!DECIMAL.test(s)) throw new ConversionError(`${JSON.stringify(s)} is not a decimal number`);
        return s;
      };
      return { toSharePoint: exact, fromSharePoint: exact };
    }
    case 'json':
      return {
        // Keys sorted: jsonb reorders them, so only a canonical text compares equal on both sides.
        toSharePoint: (v) => stableJson(v),
        fromSharePoint: (raw) => {
          try {
            return JSON.parse(String(raw));
          } catch {
            throw new ConversionError('not valid JSON');
          }
        },
      };
    case 'list':
      return {
        toSharePoint: (v) =>
          JSON.stringify(Array.isArray(v) ? v.map(String) : v === '' ? [] : String(v).split(',')),
        fromSharePoint: (raw) => {
          const items = jsonArray(raw).map(String);
          if (items.some((s) => s.includes(',')))
            throw new ConversionError('an element contains "," (simple-array cannot hold it)');
          return items.join(',');
        },
      };
  }
}

/** The multi-line text of an `array` or `list` column: a JSON array, or a clear refusal (`notArray`). */
function jsonArray(raw: unknown, notArray = 'not a JSON array'): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(raw));
  } catch {
    throw new ConversionError('not a JSON array');
  }
  if (!Array.isArray(parsed)) throw new ConversionError(notArray);
  return parsed;
}

/** A JavaScript number as plain decimal text (`1e21` → `1000000000000000000000`). */
function decimalText(n: number): string {
  if (!Number.isFinite(n)) throw new ConversionError(`${n} is not a finite number`);
  const s = String(n);
  if (!/e/i.test(s)) return s;
  return n.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 20 });
}

/** JSON with object keys sorted at every level. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
      : v,
  );
}

export function buildField(spec: FieldSpec): FieldSchema {
  const field: FieldSchema = {
    name: spec.name,
    displayName: spec.displayName,
    property: spec.property,
    databaseName: spec.databaseName,
    kind: spec.kind,
    required: spec.required,
    nullable: spec.nullable ?? true,
    indexed: spec.indexed,
    ...(spec.maxLength !== undefined ? { maxLength: spec.maxLength } : {}),
    ...(spec.minimum !== undefined ? { minimum: spec.minimum } : {}),
    ...(spec.maximum !== undefined ? { maximum: spec.maximum } : {}),
    ...(spec.choices ? { choices: spec.choices } : {}),
    ...(spec.relationTarget ? { relationTarget: spec.relationTarget } : {}),
    definition: definitionOf(spec),
    ...converters(spec),
  };
  // Not enumerable: a field prints and serialises (plans, `--json`) as plain data.
  Object.defineProperty(field, 'zod', { value: zodFor(spec), enumerable: false });
  return field;
}

/**
 * A string of at most `max` characters as SharePoint counts them: UTF-16 code units (.NET `String.Length`,
 * which is also JavaScript's `length`), so an emoji counts 2. zod's `max()` counts code points and would let
 * 10 emoji into a 10-character column that SharePoint then refuses. docs/schema.md, "Text length".
 */
function sharePointLength(max: number): z.ZodType {
  return z.string().superRefine((value, ctx) => {
    if (value.length > max)
      ctx.addIssue({
        code: 'too_big',
        origin: 'string',
        maximum: max,
        inclusive: true,
        input: value,
        message: `at most ${max} characters (UTF-16 code units)`,
      });
  });
}

/** The zod schema of the SharePoint value of a field (validation before commit). */
function zodFor(spec: FieldSpec): z.ZodType {
  switch (spec.kind) {
    case 'id':
    case 'relation':
      return spec.uuid ? z.string().regex(UUID, 'a UUID') : sharePointLength(36);
    case 'text':
    case 'note':
      return spec.maxLength !== undefined ? sharePointLength(spec.maxLength) : z.string();
    case 'integer':
    case 'number': {
      let n = z.number();
      if (spec.kind === 'integer') n = n.int();
      if (spec.minimum !== undefined) n = n.min(spec.minimum);
      if (spec.maximum !== undefined) n = n.max(spec.maximum);
      return n;
    }
    case 'boolean':
      return z.boolean();
    case 'dateTime':
    case 'date':
      return z.string().refine((s) => {
        const year = new Date(s).getUTCFullYear();
        return year >= MIN_YEAR && year <= MAX_YEAR;
      }, `a date between ${MIN_YEAR} and ${MAX_YEAR}`);
    case 'choice':
      return z.enum((spec.choices ?? ['']) as [string, ...string[]]);
    case 'multiChoice':
      return z.array(z.enum((spec.choices ?? ['']) as [string, ...string[]])).nullable();
    case 'decimal':
      return sharePointLength(255).pipe(z.string().regex(DECIMAL, 'a decimal number'));
    case 'json':
    case 'list':
    case 'array':
      return z.string();
  }
}

/**
 * What an empty SharePoint value (Graph leaves empty fields out) becomes in PostgreSQL: NULL, or `''` for a
 * text column that refuses NULL (Twenty declares such columns with a default of `''`).
 */
export function emptyValue(field: FieldSchema): unknown {
  if (!field.nullable && field.kind === 'multiChoice') return [];
  return !field.nullable && (field.kind === 'text' || field.kind === 'note') ? '' : null;
}

/** The zod schema attached to a field by `buildField`. */
export function zodOf(field: FieldSchema): z.ZodType {
  return (field as FieldSchema & { zod: z.ZodType }).zod;
}
