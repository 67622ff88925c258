import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, inject, it } from 'vitest';
import type { TwentyExampleResult } from '../../examples/twenty-crm/index.js';

const root = path.resolve(import.meta.dirname, '../..');

it('the Twenty CRM example runs as users run it (tsx): two workspaces, two sites, one rebuilt alone', async () => {
  const { stdout } = await promisify(execFile)('npx', ['tsx', 'examples/twenty-crm/index.ts'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: inject('databaseServerUrl') },
    maxBuffer: 16 * 1024 * 1024,
  });
  const result = JSON.parse(stdout) as TwentyExampleResult;
  // Every standard object has its list on each workspace's site; each site holds only its workspace's records.
  expect(result.sharePoint.acme).toEqual({
    Companies: 2,
    People: 3,
    Opportunities: 1,
    Tasks: 1,
    'Task Targets': 2,
    Notes: 1,
    'Note Targets': 2,
  });
  expect(result.sharePoint.globex).toEqual({
    Companies: 1,
    People: 1,
    Opportunities: 0,
    Tasks: 0,
    'Task Targets': 0,
    Notes: 0,
    'Note Targets': 0,
  });
  expect(result.companiesBySite).toEqual({ acme: ['Acme Corp', 'Initech'], globex: ['Globex'] });
  expect(result.priorities).toEqual({
    Company: 'P0',
    Person: 'P0',
    Opportunity: 'P0',
    Task: 'P1',
    TaskTarget: 'P1',
    Note: 'P1',
    NoteTarget: 'P1',
  });
  // acme's schema dropped and attached again: composite fields, soft delete and relations come back from SharePoint.
  expect(result.rebuilt).toEqual({
    companies: ['Acme Corp', 'Initech'],
    people: ['Peter Gibbons', 'Wile E. Coyote'],
    softDeletedPeople: ['Bill Lumbergh'],
    opportunity: {
      name: 'Rocket skates',
      amountMicros: '15000000000',
      company: 'Acme Corp',
      pointOfContact: 'Wile E. Coyote',
    },
    acmeAddressCity: 'Phoenix',
    taskTargets: 2,
    noteTargets: 2,
    requestsToOtherSites: 0,
  });
  expect(result.requestsBySite.acme).toBeGreaterThan(0);
  expect(result.requestsBySite.globex).toBeGreaterThan(0);
}, 180_000);
