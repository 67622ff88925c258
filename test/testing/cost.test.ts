import { describe, expect, it } from 'vitest';
import { resourceUnitCost } from '../../src/graph/cost.js';
import { emulatorCost } from '../../src/testing/cost.js';

// The library paces itself with its cost model; the emulator charges with its own. Two models written apart
// must agree on every request the library makes, and both on Microsoft's figures (1 / 2 / 5 / 0).

const SITE = '/sites/contoso.sharepoint.com,1,2';
const LIST = `${SITE}/lists/3`;

const cases: [method: string, path: string, expected: number][] = [
  ['GET', SITE, 1],
  ['GET', '/sites/contoso.sharepoint.com:/sites/crm', 1],
  ['GET', `${SITE}/lists`, 2],
  ['GET', `${SITE}/lists?$expand=columns`, 2],
  ['GET', `${SITE}/lists?$filter=displayName eq 'A'`, 2],
  ['GET', LIST, 1],
  ['GET', `${LIST}/columns`, 2],
  ['GET', `${LIST}/columns/abc`, 1],
  ['GET', `${LIST}/items?$expand=fields`, 2],
  ['GET', `${LIST}/items?$filter=fields/TwentyId eq 'x'`, 2],
  ['GET', `${LIST}/items/7`, 1],
  ['GET', `${LIST}/items/7/fields`, 1],
  ['GET', `${LIST}/items/delta`, 2],
  ['GET', `${LIST}/items/delta?$expand=fields`, 2],
  ['GET', `${LIST}/items/delta?token=abc`, 1],
  ['GET', `${LIST}/items/delta?$deltatoken=abc`, 1],
  ['GET', `${LIST}/items/delta(token='abc')`, 1],
  ['POST', `${LIST}/items`, 2],
  ['PATCH', `${LIST}/items/7/fields`, 2],
  ['PATCH', `${LIST}/items/7`, 2],
  ['DELETE', `${LIST}/items/7`, 2],
  ['POST', `${SITE}/lists`, 2],
  ['POST', `${LIST}/columns`, 2],
  ['PATCH', `${LIST}/columns/abc`, 2],
  ['POST', '/subscriptions', 2],
  ['PATCH', '/subscriptions/s1', 2],
  ['GET', '/subscriptions', 2],
  ['GET', '/subscriptions/s1', 1],
  ['POST', `${SITE}/permissions`, 5],
  ['POST', '/$batch', 0],
];

function emulatorPrice(method: string, full: string): number {
  const at = full.indexOf('?');
  return emulatorCost({
    method,
    path: at === -1 ? full : full.slice(0, at),
    query: new URLSearchParams(at === -1 ? '' : full.slice(at + 1)),
  });
}

describe('resource-unit cost: the library and the emulator agree, and both match Microsoft', () => {
  it.each(cases)('%s %s costs %i', (method, path, expected) => {
    expect(emulatorPrice(method, path)).toBe(expected);
    expect(resourceUnitCost(method, path)).toBe(expected);
  });
});
