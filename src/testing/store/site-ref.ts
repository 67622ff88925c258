/**
 * The emulator's one reading of a site reference, `hostname:/server-relative-path`
 * (`contoso.sharepoint.com:/sites/crm`); `createEmulator`'s `sites`, `emulator.site(ref)` and the
 * `typeorm-sharepoint/testing` export `parseSiteRef` all use it. The library has its own (the emulator
 * imports nothing of the library's: it models SharePoint apart from it), accepting the same formats.
 */
export function parseSiteRef(ref: string): { hostname: string; path: string } {
  // The same formats as the library's `parseSiteRef` (src/options), accepted and refused alike (test/abuse.test.ts
  // compares both): a host name, ":", a path starting with "/", no scheme.
  const match = /^([a-z0-9.-]+):(\/\S*)$/i.exec(ref);
  if (!match || /^[a-z][a-z0-9+.-]*:\/\//i.test(ref))
    throw new Error(
      `Site reference '${ref}' must look like 'contoso.sharepoint.com:/sites/crm' (no scheme).`,
    );
  return { hostname: match[1]!, path: normalizePath(match[2]!) };
}

/** `/sites/crm/` and `sites/crm` → `/sites/crm`; the root stays `/`. */
export function normalizePath(path: string): string {
  return `/${path.replace(/^\/+|\/+$/g, '')}`;
}
