import { describe, expect, it } from 'vitest';
import { internalName, isReservedName } from '../../src/schema/names.js';
import { RESERVED_COLUMN_NAMES } from '../../src/testing/store/catalogue.js';

/**
 * The emulator's column catalogue and the library's name rules are written apart on purpose (the emulator
 * models SharePoint; the library must avoid what SharePoint refuses). This holds the library to the model.
 */
describe('column catalogue vs the library’s names', () => {
  it('every name the emulator refuses is one the library never sends', () => {
    const missed = [...RESERVED_COLUMN_NAMES].filter((name) => !isReservedName(name));
    expect(missed).toEqual([]);
    for (const name of RESERVED_COLUMN_NAMES)
      expect(RESERVED_COLUMN_NAMES.has(internalName(name).toLowerCase()), name).toBe(false);
  });

  it('the catalogue holds the built-ins of a generic list and the hidden internal names', () => {
    for (const name of ['Title', 'ID', 'Created', 'Modified', 'Author', 'Editor', 'ContentTypeId', 'FileRef'])
      expect(RESERVED_COLUMN_NAMES.has(name.toLowerCase()), name).toBe(true);
    expect(RESERVED_COLUMN_NAMES.has('twentyid')).toBe(false);
  });
});
