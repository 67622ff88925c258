import {
  Column,
  DeleteDateColumn,
  Entity,
  JoinTable,
  ManyToMany,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { SharePointColumn, SharePointIgnore, SharePointList } from '../../src/schema/index.js';

// A Twenty-like model: composite fields as embedded columns, soft delete, relations, an enum.

export class Links {
  @Column({ type: 'varchar', length: 255, nullable: true }) primaryLinkUrl?: string | null;
  @Column({ type: 'varchar', length: 100, nullable: true }) primaryLinkLabel?: string | null;
}
export class Currency {
  @Column({ type: 'bigint', nullable: true }) amountMicros?: string | null;
  @Column({ type: 'varchar', length: 3, nullable: true }) currencyCode?: string | null;
}
export class Address {
  @Column({ type: 'varchar', length: 120, nullable: true }) addressStreet1?: string | null;
  @Column({ type: 'varchar', length: 80, nullable: true }) addressCity?: string | null;
  @Column({ type: 'varchar', length: 2, nullable: true }) addressCountry?: string | null;
}
export class FullName {
  @Column({ type: 'varchar', length: 100, default: '' }) firstName!: string;
  @Column({ type: 'varchar', length: 100, default: '' }) lastName!: string;
}
export class Emails {
  @Column({ type: 'varchar', length: 200, nullable: true }) primaryEmail?: string | null;
  @Column({ type: 'jsonb', nullable: true }) additionalEmails?: string[] | null;
}

export enum Stage {
  New = 'NEW',
  Meeting = 'MEETING',
  Proposal = 'PROPOSAL',
  Customer = 'CUSTOMER',
}

@SharePointList({ title: 'Companies', priority: 'P0' })
@Entity('company')
export class Company {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @SharePointColumn({ indexed: true }) @Column({ type: 'varchar', length: 100 }) name!: string;
  @Column(() => Links) domainName!: Links;
  @Column({ type: 'integer', nullable: true }) employees?: number | null;
  @Column(() => Currency) annualRecurringRevenue!: Currency;
  @Column(() => Address) address!: Address;
  @Column({ type: 'boolean', default: false }) idealCustomerProfile!: boolean;
  @Column({ type: 'varchar', length: 50, nullable: true }) title?: string | null;
  @SharePointIgnore() @Column({ type: 'text', nullable: true }) internalNotes?: string | null;
  @DeleteDateColumn({ type: 'timestamptz', nullable: true }) deletedAt?: Date | null;
}

@SharePointList({ title: 'Tags' })
@Entity('tag')
export class Tag {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 40 }) label!: string;
}

@SharePointList({ title: 'People', priority: 'P0' })
@Entity('person')
export class Person {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column(() => FullName) name!: FullName;
  @Column(() => Emails) emails!: Emails;
  @ManyToOne(() => Company, { nullable: true }) company?: Company | null;
  @ManyToMany(() => Tag) @JoinTable() tags?: Tag[];
  @DeleteDateColumn({ type: 'timestamptz', nullable: true }) deletedAt?: Date | null;
}

@SharePointList({ title: 'Opportunities', priority: 'P0' })
@Entity('opportunity')
export class Opportunity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 100 }) name!: string;
  @Column(() => Currency) amount!: Currency;
  @Column({ type: 'enum', enum: Stage, default: Stage.New }) stage!: Stage;
  @Column({ type: 'timestamptz', nullable: true }) closeDate?: Date | null;
  @Column({ type: 'numeric', precision: 5, scale: 2, nullable: true }) probability?: string | null;
  @ManyToOne(() => Company, { nullable: true }) company?: Company | null;
  @ManyToOne(() => Person, { nullable: true }) pointOfContact?: Person | null;
  @DeleteDateColumn({ type: 'timestamptz', nullable: true }) deletedAt?: Date | null;
}

export const twentyModel = [Company, Tag, Person, Opportunity];
