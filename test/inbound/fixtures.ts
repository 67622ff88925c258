import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { SharePointList } from '../../src/schema/index.js';

// Loaded by a child process under tsx (no decorator metadata): explicit column types.
@SharePointList({ title: 'Pulled' })
@Entity('pulled')
export class Pulled {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 50 }) name!: string;
  @Column({ type: 'integer', nullable: true }) size?: number | null;
}
