import type { z } from 'zod';
import { ValidationError } from './errors.js';
import { zodOf } from './fields.js';
import type { FieldSchema, ListSchema } from './types.js';

export interface Validator {
  /** A row keyed by PostgreSQL column name (loads, inbound): every mapped column is checked. */
  validateRow(row: Record<string, unknown>): void;
  /** An entity or a partial value set (save, update): only the properties present are checked. */
  validateEntity(entity: object): void;
}

function ruleOf(issue: z.core.$ZodIssue, field: FieldSchema): string {
  switch (issue.code) {
    case 'too_big':
      return field.kind === 'integer' || field.kind === 'number' ? 'maximum' : 'maxLength';
    case 'too_small':
      return 'minimum';
    case 'invalid_value':
      return 'choice';
    case 'invalid_format':
      return field.kind === 'decimal' ? 'decimal' : 'uuid';
    case 'invalid_type':
      return field.kind === 'integer' && issue.expected === 'int' ? 'integer' : 'type';
    case 'custom':
      return 'dateRange';
    default:
      return issue.code;
  }
}

function describe(value: unknown, sharePointValue: unknown, field: FieldSchema, message: string): string {
  if (
    typeof sharePointValue === 'string' &&
    field.maxLength !== undefined &&
    sharePointValue.length > field.maxLength
  ) {
    const units = sharePointValue.length;
    const codePoints = [...sharePointValue].length;
    return `value has ${units} characters as SharePoint counts them (UTF-16 code units${codePoints !== units ? `; ${codePoints} as PostgreSQL counts them` : ''}); SharePoint allows at most ${field.maxLength}`;
  }
  if (field.choices && typeof sharePointValue === 'string' && !field.choices.includes(sharePointValue)) {
    return `${JSON.stringify(sharePointValue)} is not one of ${field.choices.join(', ')}`;
  }
  const shown = typeof value === 'string' && value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return `${JSON.stringify(shown)}: ${message}`;
}

function check(list: ListSchema, field: FieldSchema, value: unknown): void {
  if (value === undefined) return;
  if (value === null || value === '') {
    if (field.required) {
      throw new ValidationError(
        list.entityName,
        field.property,
        field.name,
        'required',
        value,
        'a value is required',
      );
    }
    return;
  }
  let sharePointValue: unknown;
  try {
    sharePointValue = field.toSharePoint(value);
  } catch (error) {
    throw new ValidationError(
      list.entityName,
      field.property,
      field.name,
      'type',
      value,
      (error as Error).message,
    );
  }
  const result = zodOf(field).safeParse(sharePointValue);
  if (result.success) return;
  const issue = result.error.issues[0]!;
  throw new ValidationError(
    list.entityName,
    field.property,
    field.name,
    ruleOf(issue, field),
    value,
    describe(value, sharePointValue, field, issue.message),
  );
}

/** Reads `a.b.c` from an entity; undefined when any step is missing (not being written). */
function read(entity: object, path: string): unknown {
  let value: unknown = entity;
  for (const part of path.split('.')) {
    if (value === null || value === undefined || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** The validator of one list, derived from the same metadata as its columns (zod schemas per field). */
export function createValidator(list: ListSchema): Validator {
  return {
    validateRow(row) {
      for (const field of list.fields) check(list, field, row[field.databaseName] ?? null);
    },
    validateEntity(entity) {
      // The key becomes TwentyId (36 characters at most): a longer text key would commit and then be
      // refused by SharePoint. A generated key is not there yet (undefined) and is not checked.
      if (list.kind === 'entity') check(list, list.idField, read(entity, list.idField.property));
      for (const field of list.fields) {
        let value = read(entity, field.property);
        if (field.kind === 'relation' && value !== null && typeof value === 'object') {
          // A related entity: its key is what SharePoint stores. Unsaved targets have none yet.
          const key = Object.entries(value as Record<string, unknown>).find(([k]) => k === 'id')?.[1];
          if (key === undefined) continue;
          value = key;
        }
        if (field.kind === 'relation' && value === undefined) {
          // `update(id, { companyId })`: the join column given by its column name.
          value = (entity as Record<string, unknown>)[field.databaseName];
        }
        check(list, field, value);
      }
    },
  };
}
