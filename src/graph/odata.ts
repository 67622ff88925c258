/**
 * An OData string literal: the value in single quotes, each single quote doubled (`O'Brien` →
 * `'O''Brien'`). Every `$filter` the library builds uses it, so no value can end the literal early.
 */
export function odataString(value: string): string {
  return `'${String(value).replace(/'/g, "''")}'`;
}
