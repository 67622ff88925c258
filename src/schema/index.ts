export {
  type ConflictChoice,
  type ConflictResolution,
  decideConflict,
  winnerOf,
} from './conflict.js';
export { fieldsToRow, rowToFields } from './convert.js';
export {
  columnOptionsOf,
  isIgnored,
  listOptionsOf,
  SharePointColumn,
  SharePointIgnore,
  SharePointList,
} from './decorators.js';
export { ConversionError, SchemaError, ValidationError } from './errors.js';
export { emptyValue, isoSeconds, UUID } from './fields.js';
export { contentHash, stableFieldsJson } from './hash.js';
export {
  type ConvertedItem,
  canonicalFromItem,
  canonicalFromRow,
  type GraphListItem,
  makeItemConverter,
  mappedFields,
  selectClause,
  validationProblem,
} from './items.js';
export {
  junctionTwentyId,
  keyColumns,
  quoteIdentifier,
  quoteTablePath,
  rowIdSql,
  twentyIdOfRow,
} from './key.js';
export { humanize, internalName, isReservedName, pascal, pluralize } from './names.js';
export {
  type KeptColumns,
  type KeptRule,
  keepsEverything,
  keptBySharePoint,
  keptColumns,
  keptRule,
  SHAREPOINT_NUMBER_DIGITS,
} from './precision.js';
export { assertRelationTargets, type ReadOptions, readListSchemas } from './read.js';
export type {
  ConflictPolicy,
  FieldKind,
  FieldSchema,
  JunctionSchema,
  ListConfig,
  ListSchema,
  Priority,
  RelationKind,
  RelationSchema,
  SharePointColumnOptions,
  SharePointListOptions,
} from './types.js';
export { createValidator, type Validator } from './validate.js';
