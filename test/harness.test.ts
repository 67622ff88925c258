import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/database.js';

@Entity()
class Probe {
  @PrimaryGeneratedColumn('uuid') id!: string;
  // No explicit type: TypeORM needs emitted decorator metadata to know this is a string.
  @Column() name!: string;
  @Column({ nullable: true }) count?: number;
}

describe('test harness', () => {
  let db: TestDatabase;
  let ds: DataSource;
  beforeAll(async () => {
    db = await createTestDatabase();
    ds = new DataSource({ type: 'postgres', url: db.url, entities: [Probe], synchronize: true });
    await ds.initialize();
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('runs on a real PostgreSQL with decorator metadata emitted', async () => {
    const saved = await ds.getRepository(Probe).save({ name: 'a', count: 3 });
    expect(saved.id).toMatch(/^[0-9a-f-]{36}$/);
    const types = ds.getMetadata(Probe).columns.map((c) => [c.propertyName, c.type]);
    expect(types).toContainEqual(['name', String]);
    expect(types).toContainEqual(['count', Number]);
  });
});
