import { expect, inject, it } from 'vitest';
import { runDemo } from '../../src/demo/index.js';

it('the demo shows the whole round trip and ends with both sides in agreement', async () => {
  const lines: string[] = [];
  const result = await runDemo({ databaseUrl: inject('databaseServerUrl'), print: (l) => lines.push(l) });
  expect(result).toEqual({ companies: 2, people: 3, itemsInSharePoint: 5, rebuiltRows: 5, verifyOk: true });
  const story = lines.join('\n');
  // The SharePoint-side edit reached PostgreSQL, and survived dropping the database.
  expect(story).toContain('PostgreSQL now says: ada.lovelace@contoso.example');
  expect(story).toMatch(/Ada Lovelace → Contoso \(ada\.lovelace@contoso\.example\)/);
  expect(story).toContain('Dropping the whole PostgreSQL database');
}, 120_000);
