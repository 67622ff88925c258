import { Column, DeleteDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { SharePointList } from '../../src/schema/index.js';

// Explicit column types: the crash/two-worker tests load these in child processes under tsx, which emits
// no decorator metadata.

@SharePointList({ title: 'WbCompanies', priority: 'P0' })
@Entity('wb_company')
export class WbCompany {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 255 }) name!: string;
  @Column({ type: 'int', nullable: true }) employees?: number | null;
  @DeleteDateColumn({ type: 'timestamptz', nullable: true }) deletedAt?: Date | null;
}

@SharePointList({ title: 'WbNotes', priority: 'P1' })
@Entity('wb_note')
export class WbNote {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 255 }) body!: string;
}

export const WRITEBACK_ENTITIES = [WbCompany, WbNote];
