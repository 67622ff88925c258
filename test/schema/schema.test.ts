import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createValidator,
  fieldsToRow,
  type ListSchema,
  readListSchemas,
  rowToFields,
  SchemaError,
  SharePointColumn,
  SharePointList,
  ValidationError,
} from '../../src/schema/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { shapeViolations } from '../support/graph-schema.js';
import { Company, Opportunity, Person, Stage, twentyModel } from './model.js';

let db: TestDatabase;
const sources: DataSource[] = [];

async function dataSourceOf(entities: Function[], synchronize = false): Promise<DataSource> {
  const ds = new DataSource({ type: 'postgres', url: db.url, entities, synchronize });
  await ds.initialize();
  sources.push(ds);
  return ds;
}

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  for (const ds of sources) if (ds.isInitialized) await ds.destroy();
  await db.drop();
});

const byEntity = (lists: ListSchema[], name: string) => lists.find((l) => l.entityName === name)!;
const columns = (list: ListSchema) =>
  Object.fromEntries([list.idField, ...list.fields].map((f) => [f.name, f.definition]));

describe('readListSchemas (Twenty-like model)', () => {
  let lists: ListSchema[];
  beforeAll(async () => {
    lists = readListSchemas(await dataSourceOf(twentyModel));
  });

  it('maps every column of Company, field by field, with the documented type map', () => {
    const company = byEntity(lists, 'Company');
    expect(company.title).toBe('Companies');
    expect(company.priority).toBe('P0');
    expect(columns(company)).toEqual({
      TwentyId: {
        name: 'TwentyId',
        displayName: 'TwentyId',
        required: false,
        indexed: true,
        enforceUniqueValues: true,
        text: { maxLength: 36, allowMultipleLines: false },
      },
      Name: {
        name: 'Name',
        displayName: 'Name',
        required: true,
        indexed: true,
        text: { maxLength: 100, allowMultipleLines: false },
      },
      DomainNamePrimaryLinkUrl: {
        name: 'DomainNamePrimaryLinkUrl',
        displayName: 'Domain Name Primary Link Url',
        required: false,
        indexed: false,
        text: { maxLength: 255, allowMultipleLines: false },
      },
      DomainNamePrimaryLinkLabel: {
        name: 'DomainNamePrimaryLinkLabel',
        displayName: 'Domain Name Primary Link Label',
        required: false,
        indexed: false,
        text: { maxLength: 100, allowMultipleLines: false },
      },
      Employees: {
        name: 'Employees',
        displayName: 'Employees',
        required: false,
        indexed: false,
        number: { decimalPlaces: 'none' },
      },
      AnnualRecurringRevenueA_075aa460: expect.objectContaining({ number: { decimalPlaces: 'none' } }),
      AnnualRecurringRevenueC_d68ea82e: expect.objectContaining({
        text: { maxLength: 3, allowMultipleLines: false },
      }),
      AddressAddressStreet1: expect.objectContaining({ displayName: 'Address Address Street1' }),
      AddressAddressCity: expect.objectContaining({ text: { maxLength: 80, allowMultipleLines: false } }),
      AddressAddressCountry: expect.objectContaining({ text: { maxLength: 2, allowMultipleLines: false } }),
      IdealCustomerProfile: {
        name: 'IdealCustomerProfile',
        displayName: 'Ideal Customer Profile',
        required: false,
        indexed: false,
        boolean: {},
      },
      TitleField: expect.objectContaining({ text: { maxLength: 50, allowMultipleLines: false } }),
      DeletedAt: {
        name: 'DeletedAt',
        displayName: 'Deleted At',
        required: false,
        indexed: false,
        dateTime: { format: 'dateTime' },
      },
    });
    // @SharePointIgnore keeps a column out.
    expect(company.fields.some((f) => f.property === 'internalNotes')).toBe(false);
    expect(company.deleteDateField?.name).toBe('DeletedAt');
    expect(company.titleSource?.name).toBe('Name');
  });

  it('keeps internal names within 32 characters, stable and SharePoint-valid', async () => {
    const again = readListSchemas(await dataSourceOf(twentyModel));
    for (const list of lists) {
      const other = byEntity(again, list.entityName);
      expect(other.fields.map((f) => f.name)).toEqual(list.fields.map((f) => f.name));
      for (const f of list.fields) {
        expect(f.name).toMatch(/^[A-Za-z][A-Za-z0-9_]{0,31}$/);
      }
    }
    const long = byEntity(lists, 'Company').fields.find(
      (f) => f.property === 'annualRecurringRevenue.amountMicros',
    )!;
    // Too long for SharePoint (32): a readable prefix and a hash of the whole name, the same every time.
    expect(long.name).toBe('AnnualRecurringRevenueA_075aa460');
    expect(long.displayName).toBe('Annual Recurring Revenue Amount Micros');
  });

  it('maps enums to choices, numeric scale to decimal places, relations to indexed text(36) id columns', () => {
    const opportunity = byEntity(lists, 'Opportunity');
    const c = columns(opportunity);
    expect(c.Stage).toEqual({
      name: 'Stage',
      displayName: 'Stage',
      required: false,
      indexed: false,
      defaultValue: { value: 'NEW' },
      choice: {
        choices: ['NEW', 'MEETING', 'PROPOSAL', 'CUSTOMER'],
        allowTextEntry: false,
        displayAs: 'dropDownMenu',
      },
    });
    expect(c.Probability).toMatchObject({ number: { decimalPlaces: 'two' } });
    expect(c.CloseDate).toMatchObject({ dateTime: { format: 'dateTime' } });
    expect(c.CompanyId).toEqual({
      name: 'CompanyId',
      displayName: 'Company Id',
      required: false,
      indexed: true,
      text: { maxLength: 36, allowMultipleLines: false },
    });
    expect(c.PointOfContactId).toMatchObject({
      indexed: true,
      text: { maxLength: 36, allowMultipleLines: false },
    });
    expect(opportunity.relations.map((r) => [r.property, r.kind, r.targetEntityName])).toEqual([
      ['company', 'many-to-one', 'Company'],
      ['pointOfContact', 'many-to-one', 'Person'],
    ]);
  });

  it('turns a many-to-many into a junction list with two indexed id columns', () => {
    const junction = lists.find((l) => l.kind === 'junction')!;
    expect(junction.title).toBe('People Tags');
    expect(junction.junction).toMatchObject({
      ownerEntityName: 'Person',
      inverseEntityName: 'Tag',
      ownerProperty: 'tags',
    });
    expect(junction.fields.map((f) => [f.name, f.definition.indexed, f.definition.required])).toEqual([
      ['PersonId', true, true],
      ['TagsId', true, true],
    ]);
  });

  it('sends only properties of the v1.0 columnDefinition', () => {
    for (const list of lists) {
      for (const f of [list.idField, ...list.fields])
        expect(shapeViolations('columnDefinition', f.definition)).toEqual([]);
    }
  });

  it('converts rows to Graph fields and back (dates to the second, composites, relations, JSON)', () => {
    const person = byEntity(lists, 'Person');
    const row = {
      id: '3b241101-e2bb-4255-8caf-4136c566a962',
      // TypeORM's column names for embedded properties (prefix + lower-cased property).
      nameFirstname: 'Ada',
      nameLastname: "O'Neil",
      emailsPrimaryemail: 'ada@example.com',
      emailsAdditionalemails: ['a@b.c'],
      companyId: '1b241101-e2bb-4255-8caf-4136c566a962',
      deletedAt: new Date('2024-05-01T10:11:12.345Z'),
    };
    const fields = rowToFields(person, row);
    expect(fields).toEqual({
      TwentyId: row.id,
      NameFirstName: 'Ada',
      NameLastName: "O'Neil",
      EmailsPrimaryEmail: 'ada@example.com',
      EmailsAdditionalEmails: '["a@b.c"]',
      CompanyId: row.companyId,
      DeletedAt: '2024-05-01T10:11:12Z',
      Title: 'Ada',
    });
    // Graph leaves empty fields out: a NOT NULL text column (default '') gets '', a nullable one NULL.
    expect(fieldsToRow(person, { TwentyId: row.id })).toMatchObject({
      nameFirstname: '',
      nameLastname: '',
      emailsPrimaryemail: null,
      companyId: null,
    });
    const back = fieldsToRow(person, fields);
    expect(back).toMatchObject({ ...row, deletedAt: new Date('2024-05-01T10:11:12Z') });
  });
});

describe('validation before commit', () => {
  let ds: DataSource;
  beforeAll(async () => {
    ds = await dataSourceOf(twentyModel, true);
  });

  it('names entity, field, rule and value length for an over-long value', () => {
    const validator = createValidator(byEntity(readListSchemas(ds), 'Company'));
    let error: unknown;
    try {
      validator.validateEntity({ name: 'x'.repeat(101) });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ entity: 'Company', field: 'name', column: 'Name', rule: 'maxLength' });
    expect((error as Error).message).toContain('101 characters');
    expect((error as Error).message).toContain('at most 100');
  });

  it('refuses a bad enum value and a relation id that is not a UUID', () => {
    const lists = readListSchemas(ds);
    const opportunity = createValidator(byEntity(lists, 'Opportunity'));
    expect(() => opportunity.validateEntity({ stage: 'WON' })).toThrow(
      /Opportunity\.stage.*choice.*NEW, MEETING/,
    );
    expect(() => opportunity.validateEntity({ company: { id: 'not-a-uuid' } })).toThrow(
      /Opportunity\.company.*uuid/,
    );
    expect(() => opportunity.validateEntity({ name: null })).toThrow(/Opportunity\.name.*required/);
    expect(() => opportunity.validateEntity({ stage: Stage.Customer, name: 'ok' })).not.toThrow();
  });
});

describe('SchemaError names the culprit', () => {
  it('for an unmappable type', async () => {
    @SharePointList()
    @Entity('blob_holder')
    class BlobHolder {
      @PrimaryGeneratedColumn('uuid') id!: string;
      @Column({ type: 'bytea' }) payload!: Buffer;
    }
    const ds = await dataSourceOf([BlobHolder]);
    expect(() => readListSchemas(ds)).toThrow(SchemaError);
    expect(() => readListSchemas(ds)).toThrow(/BlobHolder\.payload: type "bytea" has no SharePoint column/);
  });

  it('for two entities with the same list title', async () => {
    @SharePointList({ title: 'Things' })
    @Entity('thing_a')
    class ThingA {
      @PrimaryGeneratedColumn('uuid') id!: string;
    }
    @SharePointList({ title: 'things' })
    @Entity('thing_b')
    class ThingB {
      @PrimaryGeneratedColumn('uuid') id!: string;
    }
    const ds = await dataSourceOf([ThingA, ThingB]);
    expect(() => readListSchemas(ds)).toThrow(/ThingB: list title "things" is already used by ThingA/);
  });

  it('for two properties that map onto one SharePoint name', async () => {
    @SharePointList()
    @Entity('clash')
    class Clash {
      @PrimaryGeneratedColumn('uuid') id!: string;
      @Column({ type: 'varchar', length: 10 }) homeCity!: string;
      @SharePointColumn({ name: 'HomeCity' }) @Column({ type: 'varchar', length: 10 }) city!: string;
    }
    const ds = await dataSourceOf([Clash]);
    expect(() => readListSchemas(ds)).toThrow(
      /Clash\.city: maps to SharePoint column "HomeCity", which homeCity already uses/,
    );
  });

  it('for an explicit internal name SharePoint reserves', async () => {
    @SharePointList()
    @Entity('reserved_name')
    class ReservedName {
      @PrimaryGeneratedColumn('uuid') id!: string;
      @SharePointColumn({ name: 'Modified' }) @Column({ type: 'varchar', length: 10 }) modified!: string;
    }
    const ds = await dataSourceOf([ReservedName]);
    expect(() => readListSchemas(ds)).toThrow(
      /ReservedName\.modified: @SharePointColumn name "Modified": reserved by SharePoint/,
    );
  });
});

describe('validation in a real save', () => {
  it('rolls the transaction back and keeps what was committed before', async () => {
    const { SharePointSync } = await import('../../src/index.js');
    void SharePointSync;
    const ds = await dataSourceOf(
      [Company, Person, Opportunity, ...twentyModel.filter((e) => e.name === 'Tag')],
      true,
    );
    const { installValidation } = await import('../../src/writeback/validation.js');
    installValidation(ds, readListSchemas(ds));
    const repo = ds.getRepository(Company);
    const kept = await repo.save({ name: 'Kept', address: {}, domainName: {}, annualRecurringRevenue: {} });
    await expect(
      ds.transaction(async (m) => {
        await m
          .getRepository(Company)
          .save({ name: 'Inside the transaction', address: {}, domainName: {}, annualRecurringRevenue: {} });
        await m
          .getRepository(Company)
          .save({ name: 'y'.repeat(150), address: {}, domainName: {}, annualRecurringRevenue: {} });
      }),
    ).rejects.toThrow(/Company\.name .*maxLength.*150 characters/);
    const names = (await repo.find()).map((c) => c.name);
    expect(names).toContain('Kept');
    expect(names).not.toContain('Inside the transaction');
    expect(kept.id).toBeDefined();
  });
});
