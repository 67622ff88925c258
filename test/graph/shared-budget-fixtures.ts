import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { SharePointList } from '../../src/schema/index.js';

export const SITE = { hostname: 'contoso.sharepoint.com', path: '/sites/budget' };

// Loaded by child processes under tsx (no decorator metadata): explicit column types.
@SharePointList({ title: 'Budgeted' })
@Entity('budgeted')
export class Budgeted {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 50 }) name!: string;
}
