import { SharePointSyncError } from '../errors/index.js';
/** An entity that cannot be mapped to a SharePoint list (thrown at attach, before anything is sent). */
export class SchemaError extends SharePointSyncError {
  override name = 'SchemaError';
  readonly code = 'SCHEMA_INVALID';
  constructor(
    readonly entity: string,
    readonly column: string | undefined,
    readonly rule: string,
    detail: string,
  ) {
    super(`typeorm-sharepoint: ${entity}${column ? `.${column}` : ''}: ${detail} [${rule}]`);
  }
}

/**
 * A value SharePoint would refuse, caught before commit: the application's transaction rolls back and
 * nothing is half-written. `field` is the entity property, `column` the SharePoint column.
 */
export class ValidationError extends SharePointSyncError {
  override name = 'ValidationError';
  readonly code = 'VALUE_INVALID';
  constructor(
    readonly entity: string,
    readonly field: string,
    readonly column: string,
    readonly rule: string,
    readonly value: unknown,
    detail: string,
  ) {
    super(
      `typeorm-sharepoint: ${entity}.${field} (SharePoint column ${column}) breaks rule "${rule}": ${detail}`,
    );
  }
}

/**
 * A value that cannot be converted to or from its SharePoint column (a date that is no date, text longer than
 * the column). Before commit it is reported as a `ValidationError`; later (a row written by raw SQL with the
 * capture bypassing validation, or an item edited in SharePoint) it is thrown as it is.
 */
export class ConversionError extends SharePointSyncError {
  override name = 'ConversionError';
  readonly code = 'VALUE_NOT_CONVERTIBLE';
}
