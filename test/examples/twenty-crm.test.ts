import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, inject, it } from 'vitest';
import type { TwentyExampleResult } from '../../examples/twenty-crm/index.js';

const root = path.resolve(import.meta.dirname, '../..');

it('the Twenty CRM example runs as users run it (tsx): Twenty-built EntitySchemas, two workspaces, two sites, one rebuilt alone', async () => {
  const { stdout } = await promisify(execFile)('npx', ['tsx', 'examples/twenty-crm/index.ts'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: inject('databaseServerUrl') },
    maxBuffer: 16 * 1024 * 1024,
  });
  const result = JSON.parse(stdout) as TwentyExampleResult;
  // Twenty's schema names, computed from the workspace UUIDs.
  expect(result.schemas).toEqual({
    acme: 'workspace_1wgvd1injqtife6y4rvfbu3h5',
    globex: expect.stringMatching(/^workspace_[0-9a-z]+$/),
  });
  // Every standard object has its list on each workspace's site; each site holds only its workspace's records.
  expect(result.sharePoint.acme).toEqual({
    Companies: 2,
    People: 3,
    Opportunities: 1,
    Tasks: 1,
    'Task Targets': 2,
    Notes: 1,
    'Note Targets': 2,
    'Workspace Members': 1,
  });
  expect(result.sharePoint.globex).toEqual({
    Companies: 1,
    People: 1,
    Opportunities: 0,
    Tasks: 0,
    'Task Targets': 0,
    Notes: 0,
    'Note Targets': 0,
    'Workspace Members': 0,
  });
  expect(result.companiesBySite).toEqual({ acme: ['Acme Corp', 'Initech'], globex: ['Globex'] });
  expect(result.priorities).toEqual({
    company: 'P0',
    person: 'P0',
    opportunity: 'P0',
    task: 'P1',
    taskTarget: 'P1',
    note: 'P1',
    noteTarget: 'P1',
    workspaceMember: 'P1',
  });
  // A multi-select as multi-choice, micros beyond 2^53 exact, an actor, a relation id.
  expect(result.acmeItem).toEqual({
    WorkPolicy: ['HYBRID', 'REMOTE_WORK'],
    ARR: '12000000000000001',
    CreatedByName: 'Tim Apple',
    AccountOwnerId: true,
  });
  // acme's workspace schema dropped and attached again: composites, soft delete, relations, the multi-select and
  // the rating come back from SharePoint; PostgreSQL derives the search vector again.
  expect(result.rebuilt).toEqual({
    companies: ['Acme Corp', 'Initech'],
    people: ['Peter Gibbons', 'Wile E. Coyote'],
    softDeletedPeople: ['Bill Lumbergh'],
    opportunity: {
      name: 'Rocket skates',
      amountMicros: '15000000000',
      stage: 'PROPOSAL',
      company: 'Acme Corp',
      pointOfContact: 'Wile E. Coyote',
    },
    acmeAddressCity: 'Phoenix',
    acmeWorkPolicy: ['HYBRID', 'REMOTE_WORK'],
    acmeSearchVector: expect.stringContaining("'acme':1"),
    wileRating: 'RATING_5',
    taskTargets: 2,
    noteTargets: 2,
    requestsToOtherSites: 0,
  });
  expect(result.requestsBySite.acme).toBeGreaterThan(0);
  expect(result.requestsBySite.globex).toBeGreaterThan(0);
}, 180_000);
