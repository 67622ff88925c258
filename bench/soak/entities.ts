// The soak's two lists. Explicit column types: the worker runs under tsx, which emits no decorator metadata.
// `origin` is the tag of the write that created the record (set once, never updated): the checker's key for
// every record, including items a person creates in SharePoint before the library gives them a TwentyId.
import { Column, DeleteDateColumn, Entity, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { SharePointList } from '../../src/schema/index.js';

@SharePointList({ title: 'Soak Companies', priority: 'P0' })
@Entity('soak_company')
export class SoakCompany {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 100 }) name!: string;
  @Column({ type: 'varchar', length: 100, nullable: true }) origin?: string | null;
  @DeleteDateColumn({ type: 'timestamptz', nullable: true }) deletedAt?: Date | null;
}

@SharePointList({ title: 'Soak People', priority: 'P1' })
@Entity('soak_person')
export class SoakPerson {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 100 }) name!: string;
  @Column({ type: 'varchar', length: 100, nullable: true }) origin?: string | null;
  // No foreign key: SharePoint has none either, and a person may point at a company deleted meanwhile.
  @ManyToOne(() => SoakCompany, { nullable: true, createForeignKeyConstraints: false })
  company?: SoakCompany | string | null;
}

export const SOAK_ENTITIES = [SoakCompany, SoakPerson];
export const SITE = { hostname: 'contoso.sharepoint.com', path: '/sites/soak' };
export const SITE_REF = 'contoso.sharepoint.com:/sites/soak';
/** Same secret in every process, as the docs ask of a scaled-out application. */
export const CLIENT_STATE = 'soak-client-state';
