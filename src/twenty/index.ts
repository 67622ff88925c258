// `typeorm-sharepoint/twenty`: Twenty CRM's object metadata → attach's `lists`. docs/twenty.md.
export { type TwentyListsOptions, twentyLists } from './lists.js';
export {
  ACTOR_SOURCES,
  COMPOSITE_TYPES,
  type CompositeProperty,
  compositeColumnName,
  joinColumnOf,
  type TwentyField,
  type TwentyFieldOption,
  type TwentyFieldType,
  type TwentyObject,
  twentyTableName,
  twentyWorkspaceSchema,
} from './metadata.js';
