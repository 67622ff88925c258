import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { SharePointList, type SharePointSync } from 'typeorm-sharepoint';
import type { Emulator } from 'typeorm-sharepoint/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AttachedSetup, createAttachedSetup } from '../support/attached.js';

// Found by the soak: a person deletes an item while a local update of it waits in the outbox. The PATCH meets
// 404; it was dead-lettered, so the row stayed in the cache for good and verify drifted. It is a conflict
// like a 412: the list's policy decides, and it is recorded with both versions.

const SITE = 'contoso.sharepoint.com:/sites/gone';

@SharePointList({ title: 'Gone Shared', conflictResolution: 'sharePointPriority' })
@Entity('gone_shared')
class GoneShared {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 40 }) name!: string;
}

@SharePointList({ title: 'Gone Local', conflictResolution: 'twentyPriority' })
@Entity('gone_local')
class GoneLocal {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 40 }) name!: string;
}

let env: AttachedSetup;
let dataSource: DataSource;
let sync: SharePointSync;
let emulator: Emulator;
const list = (title: string) => emulator.site(SITE).list(title)!;

beforeAll(async () => {
  env = await createAttachedSetup({
    site: SITE,
    entities: [GoneShared, GoneLocal],
  });
  emulator = env.emulator;
  ({ dataSource, sync } = await env.attach());
});

afterAll(async () => {
  await env?.close();
});

async function deletedThenUpdated<T extends GoneShared | GoneLocal>(entity: new () => T, title: string) {
  const repo = dataSource.getRepository<GoneShared>(entity as never);
  const row = await repo.save({ name: 'before' });
  await sync.flush();
  list(title).deleteItem(
    list(title)
      .items()
      .find((i) => i.fields.TwentyId === row.id)!.id,
  );
  await repo.update(row.id, { name: 'edited after the delete' });
  await sync.flush(); // no dead letter: flush would reject naming it
  const conflicts = await dataSource.query(
    'SELECT policy, resolution, reason, remote FROM sharepoint_sync.conflicts WHERE twenty_id = $1',
    [row.id],
  );
  return { row, conflicts, local: await repo.findOneBy({ id: row.id }) };
}

describe('an update meeting an item deleted in SharePoint (404)', () => {
  it('sharePointPriority: the delete wins, the local row goes, one conflict is recorded, verify is clean', async () => {
    const { conflicts, local } = await deletedThenUpdated(GoneShared, 'Gone Shared');
    expect(local).toBeNull();
    expect(conflicts).toEqual([
      {
        policy: 'sharePointPriority',
        resolution: 'sharepoint',
        reason: 'updated locally while the item was deleted in SharePoint',
        remote: null,
      },
    ]);
    expect(await sync.deadLetters()).toEqual([]);
    expect((await sync.verify([GoneShared])).ok).toBe(true);
  });

  it('twentyPriority: the local version wins and is created again in SharePoint', async () => {
    const { row, conflicts, local } = await deletedThenUpdated(GoneLocal, 'Gone Local');
    expect(local?.name).toBe('edited after the delete');
    expect(conflicts).toMatchObject([{ policy: 'twentyPriority', resolution: 'twenty' }]);
    const items = list('Gone Local')
      .items()
      .filter((i) => i.fields.TwentyId === row.id);
    expect(items.map((i) => i.fields.Name)).toEqual(['edited after the delete']);
    expect((await sync.verify([GoneLocal])).ok).toBe(true);
  });
});
