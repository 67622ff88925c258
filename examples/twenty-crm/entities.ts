// The Twenty CRM standard objects, modelled as Twenty models them: composite fields (full name, emails,
// phones, links, currency, address, rich text) as embedded columns, soft delete, relations held by id.
// tsx emits no decorator metadata: every @Column names its type.
import {
  Column,
  CreateDateColumn,
  DeleteDateColumn,
  Entity,
  ManyToOne,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { SharePointList } from 'typeorm-sharepoint';

// ── Composite field types ──────────────────────────────────────────────────────────────────────────

export class FullName {
  @Column({ type: 'varchar', length: 100, default: '' }) firstName!: string;
  @Column({ type: 'varchar', length: 100, default: '' }) lastName!: string;
}

export class Emails {
  @Column({ type: 'varchar', length: 200, nullable: true }) primaryEmail?: string | null;
  @Column({ type: 'jsonb', nullable: true }) additionalEmails?: string[] | null;
}

export class Phones {
  @Column({ type: 'varchar', length: 40, nullable: true }) primaryPhoneNumber?: string | null;
  @Column({ type: 'varchar', length: 8, nullable: true }) primaryPhoneCountryCode?: string | null;
  @Column({ type: 'jsonb', nullable: true }) additionalPhones?: unknown[] | null;
}

export class Links {
  @Column({ type: 'varchar', length: 255, nullable: true }) primaryLinkUrl?: string | null;
  @Column({ type: 'varchar', length: 100, nullable: true }) primaryLinkLabel?: string | null;
  @Column({ type: 'jsonb', nullable: true }) secondaryLinks?: { url: string; label: string }[] | null;
}

export class Currency {
  /** Twenty stores money as micros (amount × 1,000,000). */
  @Column({ type: 'bigint', nullable: true }) amountMicros?: string | null;
  @Column({ type: 'varchar', length: 3, nullable: true }) currencyCode?: string | null;
}

export class Address {
  @Column({ type: 'varchar', length: 200, nullable: true }) addressStreet1?: string | null;
  @Column({ type: 'varchar', length: 200, nullable: true }) addressStreet2?: string | null;
  @Column({ type: 'varchar', length: 100, nullable: true }) addressCity?: string | null;
  @Column({ type: 'varchar', length: 100, nullable: true }) addressState?: string | null;
  @Column({ type: 'varchar', length: 20, nullable: true }) addressPostcode?: string | null;
  @Column({ type: 'varchar', length: 100, nullable: true }) addressCountry?: string | null;
  @Column({ type: 'double precision', nullable: true }) addressLat?: number | null;
  @Column({ type: 'double precision', nullable: true }) addressLng?: number | null;
}

export class RichText {
  @Column({ type: 'text', nullable: true }) blocknote?: string | null;
  @Column({ type: 'text', nullable: true }) markdown?: string | null;
}

export enum OpportunityStage {
  New = 'NEW',
  Screening = 'SCREENING',
  Meeting = 'MEETING',
  Proposal = 'PROPOSAL',
  Customer = 'CUSTOMER',
}

export enum TaskStatus {
  Todo = 'TODO',
  InProgress = 'IN_PROGRESS',
  Done = 'DONE',
}

// ── P0: the records people look at and edit all day ───────────────────────────────────────────────

@SharePointList({ title: 'Companies', priority: 'P0', titleColumn: 'name' })
@Entity('company')
export class Company {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 100 }) name!: string;
  @Column(() => Links) domainName!: Links;
  @Column({ type: 'integer', nullable: true }) employees?: number | null;
  @Column(() => Links) linkedinLink!: Links;
  @Column(() => Currency) annualRecurringRevenue!: Currency;
  @Column(() => Address) address!: Address;
  @Column({ type: 'boolean', default: false }) idealCustomerProfile!: boolean;
  @Column({ type: 'double precision', default: 0 }) position!: number;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ type: 'timestamptz' }) updatedAt!: Date;
  @DeleteDateColumn({ type: 'timestamptz', nullable: true }) deletedAt?: Date | null;
}

@SharePointList({ title: 'People', priority: 'P0' })
@Entity('person')
export class Person {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column(() => FullName) name!: FullName;
  @Column(() => Emails) emails!: Emails;
  @Column(() => Phones) phones!: Phones;
  @Column(() => Links) linkedinLink!: Links;
  // Twenty declares these NOT NULL DEFAULT ''; SharePoint keeps an empty text as no value, so they are nullable
  // here (a NOT NULL '' would come back as null on a rebuild).
  @Column({ type: 'varchar', length: 100, nullable: true }) jobTitle?: string | null;
  @Column({ type: 'varchar', length: 100, nullable: true }) city?: string | null;
  @Column({ type: 'double precision', default: 0 }) position!: number;
  @ManyToOne(() => Company, { nullable: true, onDelete: 'SET NULL' }) company?: Company | null;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ type: 'timestamptz' }) updatedAt!: Date;
  @DeleteDateColumn({ type: 'timestamptz', nullable: true }) deletedAt?: Date | null;
}

@SharePointList({ title: 'Opportunities', priority: 'P0', titleColumn: 'name' })
@Entity('opportunity')
export class Opportunity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 100 }) name!: string;
  @Column(() => Currency) amount!: Currency;
  @Column({ type: 'timestamptz', nullable: true }) closeDate?: Date | null;
  @Column({ type: 'enum', enum: OpportunityStage, default: OpportunityStage.New }) stage!: OpportunityStage;
  @Column({ type: 'double precision', default: 0 }) position!: number;
  @ManyToOne(() => Company, { nullable: true, onDelete: 'SET NULL' }) company?: Company | null;
  @ManyToOne(() => Person, { nullable: true, onDelete: 'SET NULL' }) pointOfContact?: Person | null;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ type: 'timestamptz' }) updatedAt!: Date;
  @DeleteDateColumn({ type: 'timestamptz', nullable: true }) deletedAt?: Date | null;
}

// ── P1: activity, batched ─────────────────────────────────────────────────────────────────────────

@SharePointList({ title: 'Tasks', priority: 'P1', titleColumn: 'title' })
@Entity('task')
export class Task {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 200, default: '' }) title!: string;
  @Column(() => RichText) bodyV2!: RichText;
  @Column({ type: 'timestamptz', nullable: true }) dueAt?: Date | null;
  @Column({ type: 'enum', enum: TaskStatus, default: TaskStatus.Todo }) status!: TaskStatus;
  @Column({ type: 'double precision', default: 0 }) position!: number;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ type: 'timestamptz' }) updatedAt!: Date;
  @DeleteDateColumn({ type: 'timestamptz', nullable: true }) deletedAt?: Date | null;
}

/** What a task is about: one row per target record (Twenty's `taskTarget`). */
@SharePointList({ title: 'Task Targets', priority: 'P1' })
@Entity('taskTarget')
export class TaskTarget {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @ManyToOne(() => Task, { nullable: true, onDelete: 'CASCADE' }) task?: Task | null;
  @ManyToOne(() => Person, { nullable: true, onDelete: 'CASCADE' }) person?: Person | null;
  @ManyToOne(() => Company, { nullable: true, onDelete: 'CASCADE' }) company?: Company | null;
  @ManyToOne(() => Opportunity, { nullable: true, onDelete: 'CASCADE' }) opportunity?: Opportunity | null;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ type: 'timestamptz' }) updatedAt!: Date;
  @DeleteDateColumn({ type: 'timestamptz', nullable: true }) deletedAt?: Date | null;
}

@SharePointList({ title: 'Notes', priority: 'P1', titleColumn: 'title' })
@Entity('note')
export class Note {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 200, default: '' }) title!: string;
  @Column(() => RichText) bodyV2!: RichText;
  @Column({ type: 'double precision', default: 0 }) position!: number;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ type: 'timestamptz' }) updatedAt!: Date;
  @DeleteDateColumn({ type: 'timestamptz', nullable: true }) deletedAt?: Date | null;
}

/** What a note is about (Twenty's `noteTarget`). */
@SharePointList({ title: 'Note Targets', priority: 'P1' })
@Entity('noteTarget')
export class NoteTarget {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @ManyToOne(() => Note, { nullable: true, onDelete: 'CASCADE' }) note?: Note | null;
  @ManyToOne(() => Person, { nullable: true, onDelete: 'CASCADE' }) person?: Person | null;
  @ManyToOne(() => Company, { nullable: true, onDelete: 'CASCADE' }) company?: Company | null;
  @ManyToOne(() => Opportunity, { nullable: true, onDelete: 'CASCADE' }) opportunity?: Opportunity | null;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ type: 'timestamptz' }) updatedAt!: Date;
  @DeleteDateColumn({ type: 'timestamptz', nullable: true }) deletedAt?: Date | null;
}

export const twentyEntities = [Company, Person, Opportunity, Task, TaskTarget, Note, NoteTarget];
