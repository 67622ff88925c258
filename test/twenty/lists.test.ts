import { twentyLists, twentyWorkspaceSchema } from 'typeorm-sharepoint/twenty';
import { describe, expect, it } from 'vitest';
import { company, person, pet, standardObjects } from '../../examples/twenty-crm/metadata.js';

// Issue 18, "Twenty out of the box": Twenty's object metadata → attach's lists, no per-field configuration.

describe('twentyLists', () => {
  it('writes titles, Title columns, display names, nullability, arrays and priorities from the metadata', () => {
    const lists = twentyLists([...standardObjects, pet], { priorities: { company: 'P0' } });
    expect(Object.keys(lists)).toEqual([...standardObjects.map((o) => o.nameSingular), 'pet']);
    expect(lists.company).toMatchObject({ title: 'Companies', priority: 'P0', titleColumn: 'name' });
    expect(lists.person).toMatchObject({ title: 'People', titleColumn: 'nameFirstName' });
    expect(lists.person!.priority).toBeUndefined();
    expect(lists.taskTarget).toMatchObject({ title: 'Task Targets' });
    expect(lists.taskTarget!.titleColumn).toBeUndefined();
    const columns = lists.company!.columns!;
    // The table's nullability, not the EntitySchema's inverted one: ACTOR source/name required, the rest not.
    expect(columns.createdBySource).toEqual({ nullable: false, displayName: 'Created by Source' });
    expect(columns.createdByWorkspaceMemberId).toMatchObject({ nullable: true });
    expect(columns.annualRecurringRevenueAmountMicros).toEqual({
      nullable: true,
      displayName: 'ARR Amount Micros',
    });
    expect(columns.idealCustomerProfile).toEqual({ nullable: false, displayName: 'ICP' });
    expect(columns.searchVector).toBe(false);
    expect(columns.accountOwner).toEqual({});
    expect(columns.people).toBeUndefined();
    expect(lists.pet!.columns!.interestingFacts).toMatchObject({ array: true, nullable: true });
  });

  it('keeps relations to objects that are not synced as local targets', () => {
    const lists = twentyLists(standardObjects, { objects: ['company', 'person'] });
    expect(Object.keys(lists)).toEqual(['company', 'person']);
    expect(lists.company!.columns!.accountOwner).toEqual({ localTarget: true });
    expect(lists.person!.columns!.company).toEqual({});
  });

  it('refuses an object the metadata does not have, naming it', () => {
    expect(() => twentyLists([company, person], { objects: ['company', 'opportunty'] })).toThrow(
      /object "opportunty" is not in the metadata given \(objects: company, person\)/,
    );
  });

  it('names workspace schemas as Twenty does (the UUID in base 36) and refuses what is not a UUID', () => {
    expect(twentyWorkspaceSchema('20202020-1c25-4d02-bf25-6aeccf7ea419')).toBe(
      'workspace_1wgvd1injqtife6y4rvfbu3h5',
    );
    expect(() => twentyWorkspaceSchema('acme')).toThrow(/"acme" is not a workspace UUID/);
  });
});
