import { Column, DeleteDateColumn, Entity, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { SharePointList } from 'typeorm-sharepoint';

// Every column names its type: the demo runs under tsx/esbuild, which emit no decorator metadata.

/** A composite field, as Twenty models one: flattened into one SharePoint column per property. */
export class DemoAddress {
  @Column({ type: 'varchar', length: 120, nullable: true }) street?: string | null;
  @Column({ type: 'varchar', length: 80, nullable: true }) city?: string | null;
}

@SharePointList({ title: 'Demo Companies', priority: 'P0' })
@Entity('demo_company')
export class DemoCompany {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 100 }) name!: string;
  @Column({ type: 'integer', nullable: true }) employees?: number | null;
  @Column(() => DemoAddress) address!: DemoAddress;
  @DeleteDateColumn({ type: 'timestamptz', nullable: true }) deletedAt?: Date | null;
}

@SharePointList({ title: 'Demo People', priority: 'P0' })
@Entity('demo_person')
export class DemoPerson {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 100 }) name!: string;
  @Column({ type: 'varchar', length: 200, nullable: true }) email?: string | null;
  @ManyToOne(() => DemoCompany, { nullable: true, onDelete: 'SET NULL' }) company?: DemoCompany | null;
}
