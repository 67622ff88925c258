import { Column, Entity, PrimaryColumn } from 'typeorm';
import { SharePointList } from '../../src/index.js';

export const SITE = { hostname: 'contoso.sharepoint.com', path: '/sites/scale' };

@SharePointList({ title: 'ScaleCompanies', priority: 'P1' })
@Entity('scale_company')
export class ScaleCompany {
  @PrimaryColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 255 }) name!: string;
  @Column({ type: 'int', nullable: true }) employees?: number | null;
}
