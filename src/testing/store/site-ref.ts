/**
 * The emulator's one reading of a site reference, `hostname:/server-relative-path`
 * (`contoso.sharepoint.com:/sites/crm`); `createEmulator`'s `sites`, `emulator.site(ref)` and the
 * `typeorm-sharepoint/testing` export `parseSiteRef` all use it. The library has its own (the emulator
 * imports nothing of the library's: it models SharePoint apart from it).
 */
export function parseSiteRef(ref: string): { hostname: string; path: string } {
  const at = ref.indexOf(':');
  if (at <= 0) throw new Error(`Site reference '${ref}' must look like 'contoso.sharepoint.com:/sites/crm'.`);
  return { hostname: ref.slice(0, at), path: normalizePath(ref.slice(at + 1)) };
}

/** `/sites/crm/` and `sites/crm` → `/sites/crm`; the root stays `/`. */
export function normalizePath(path: string): string {
  return `/${path.replace(/^\/+|\/+$/g, '')}`;
}
