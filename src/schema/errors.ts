/** An entity that cannot be mapped to a SharePoint list (thrown at attach, before anything is sent). */
export class SchemaError extends Error {
  override name = 'SchemaError';
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
export class ValidationError extends Error {
  override name = 'ValidationError';
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
