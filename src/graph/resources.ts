/**
 * Graph's URL shapes and `@odata` annotations for the resources the library uses (sites, lists, columns,
 * list items and their fields, item delta, subscriptions), so no other concern writes a Graph URL by hand.
 * Paths are relative to the client's base URL. Ids are Graph's own (site ids hold commas, list ids are GUIDs,
 * item ids are numbers) and go into the path as they are.
 */
export const graphPath = {
  /** `GET` resolves a site by host name and server-relative path (`contoso.sharepoint.com`, `/sites/crm`). */
  siteByPath: (hostname: string, path: string) => `/sites/${hostname}:${path}`,
  lists: (siteId: string) => `/sites/${siteId}/lists`,
  list: (siteId: string, listId: string) => `/sites/${siteId}/lists/${listId}`,
  columns: (siteId: string, listId: string) => `${graphPath.list(siteId, listId)}/columns`,
  column: (siteId: string, listId: string, columnId: string) =>
    `${graphPath.columns(siteId, listId)}/${columnId}`,
  items: (siteId: string, listId: string) => `${graphPath.list(siteId, listId)}/items`,
  item: (siteId: string, listId: string, itemId: string) => `${graphPath.items(siteId, listId)}/${itemId}`,
  /** `PATCH` here updates an item's column values; a `$batch` of them is how the cache assigns ids. */
  itemFields: (siteId: string, listId: string, itemId: string) =>
    `${graphPath.item(siteId, listId, itemId)}/fields`,
  /** List-item delta (global service only; see `GraphClient.supportsListItemDelta`). */
  itemsDelta: (siteId: string, listId: string) => `${graphPath.items(siteId, listId)}/delta`,
  subscriptions: () => '/subscriptions',
  subscription: (subscriptionId: string) => `/subscriptions/${subscriptionId}`,
} as const;

/** A list as a subscription's `resource` (no leading slash, as Graph's examples write it). */
export function listResource(siteId: string, listId: string): string {
  return `sites/${siteId}/lists/${listId}`;
}

/** The list id of a notification's or subscription's `resource` (`sites/{site}/lists/{list}`), if any. */
export function listIdOfResource(resource: string): string | undefined {
  return /lists\/([^/]+)/i.exec(resource)?.[1];
}

/** `$expand` value for an item's column values, limited to `select` (a `$select` list) when given. */
export function expandFields(select?: string): string {
  return select === undefined ? 'fields' : `fields($select=${select})`;
}

/** `$filter` clause: the item's column `name` equals the OData literal `literal` (see `odataString`). */
export function fieldEquals(name: string, literal: string): string {
  return `fields/${name} eq ${literal}`;
}

/**
 * `$filter` clause: the item id (SharePoint's `ID` column, always indexed) in `[from, below)`. A cold load reads a
 * list in such ranges in parallel (docs/graph.md, "Reading one list in ranges"); `below` omitted: no upper bound.
 */
export function itemIdRange(from: number, below?: number): string {
  const lower = `fields/id ge ${Math.trunc(from)}`;
  return below === undefined ? lower : `${lower} and fields/id lt ${Math.trunc(below)}`;
}

/** Delta's query for the current token without reading the list (listitem-delta.md, example 3). */
export const LATEST_DELTA_TOKEN = { token: 'latest' } as const;

/** OData annotations Graph puts in answers. */
export const ODATA = {
  /** The next page of a collection or a delta round. */
  nextLink: '@odata.nextLink',
  /** The end of a delta round: the link that starts the next round. */
  deltaLink: '@odata.deltaLink',
  /** An item's or its fields' version (also `eTag` on list items). */
  etag: '@odata.etag',
  context: '@odata.context',
  /** Every annotation's prefix: such keys are metadata, never column values. */
  prefix: '@odata',
} as const;
