import { Column, DeleteDateColumn, Entity, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { SharePointList } from '../../src/schema/index.js';

/** Composite column (Twenty's address): flattened into one SharePoint column per property. */
export class Address {
  @Column({ type: 'varchar', length: 120, nullable: true }) street?: string | null;
  @Column({ type: 'varchar', length: 80, nullable: true }) city?: string | null;
  @Column({ type: 'varchar', length: 2, nullable: true }) country?: string | null;
}

export enum Tier {
  Free = 'free',
  Pro = 'pro',
  Enterprise = 'enterprise',
}

/** One entity with every column type the cache converts. */
@SharePointList({ title: 'Accounts', priority: 'P0' })
@Entity()
export class Account {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 100 }) name!: string;
  @Column({ type: 'text', nullable: true }) notes?: string | null;
  @Column({ type: 'integer', nullable: true }) employees?: number | null;
  @Column({ type: 'double precision', nullable: true }) score?: number | null;
  @Column({ type: 'numeric', precision: 12, scale: 2, nullable: true }) revenue?: string | null;
  @Column({ type: 'boolean', default: false }) active!: boolean;
  @Column({ type: 'timestamptz', nullable: true }) signedAt?: Date | null;
  @Column({ type: 'enum', enum: Tier, default: Tier.Free }) tier!: Tier;
  @Column({ type: 'simple-array', nullable: true }) tags?: string[] | null;
  @Column({ type: 'jsonb', nullable: true }) settings?: Record<string, unknown> | null;
  @Column(() => Address) address!: Address;
  @DeleteDateColumn({ type: 'timestamptz', nullable: true }) deletedAt?: Date | null;
}

/** Relations: to another list and to itself (a manager loaded after the report in the same list). */
@SharePointList({ title: 'Contacts', priority: 'P1' })
@Entity()
export class Contact {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 100 }) name!: string;
  @ManyToOne(() => Account, { nullable: true }) account?: Account | null;
  @ManyToOne(() => Contact, { nullable: true }) manager?: Contact | null;
}

export const cacheEntities = [Account, Contact];
