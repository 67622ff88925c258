// Twenty's standard objects as its metadata describes them (field builders of twenty-server's
// twenty-standard-application, see ../shared/twenty/FACTS.md §d), plus the dev-seed custom fields
// (company.workPolicy multi-select, person.performanceRating rating, …) and the custom object `pet`, which
// uses every field type Twenty has. Twenty keeps these as rows in its metadata store; here they are data.
import {
  ACTOR_SOURCES,
  COMPOSITE_TYPES,
  compositeColumnName,
  type TwentyField,
  type TwentyFieldType,
  type TwentyObject,
} from 'typeorm-sharepoint/twenty';

const opt = (...values: string[]) => values.map((value) => ({ value }));

const BASE: TwentyField[] = [
  { name: 'id', type: 'UUID', isNullable: false, defaultValue: 'uuid' },
  { name: 'createdAt', type: 'DATE_TIME', isNullable: false, defaultValue: 'now', label: 'Creation date' },
  { name: 'updatedAt', type: 'DATE_TIME', isNullable: false, defaultValue: 'now', label: 'Last update' },
  { name: 'deletedAt', type: 'DATE_TIME', isNullable: true, label: 'Deleted at' },
];
const POSITION: TwentyField = { name: 'position', type: 'POSITION', isNullable: false, defaultValue: 0 };
const actor = (name: 'createdBy' | 'updatedBy', label: string): TwentyField => ({
  name,
  type: 'ACTOR',
  label,
  isNullable: false,
  defaultValue: { source: "'MANUAL'", name: "'System'", workspaceMemberId: null },
});
const ACTORS = [actor('createdBy', 'Created by'), actor('updatedBy', 'Updated by')];
/** Twenty's searchable composite sub-fields (`isSearchableSubfield`): TEXT ones; rich text its markdown only. */
function searchableSubfields(type: string): string[] {
  const text = (COMPOSITE_TYPES[type] ?? []).filter((p) => p.type === 'TEXT').map((p) => p.name);
  if (type === 'RICH_TEXT_V2') return text.filter((name) => name === 'markdown');
  if (type === 'PHONES')
    return text.filter((name) => ['primaryPhoneNumber', 'primaryPhoneCallingCode'].includes(name));
  return text;
}

/** One column's part of the search text (`getColumnExpression`): e-mails add their domain, phones stay as typed. */
function searchPart(column: string, type: string): string {
  const c = `"${column}"`;
  if (type === 'EMAILS')
    return `COALESCE(public.unaccent_immutable(${c}), '') || ' ' || COALESCE(public.unaccent_immutable(SPLIT_PART(${c}, '@', 2)), '')`;
  if (type === 'PHONES') return `COALESCE(${c}, '')`;
  return `COALESCE(public.unaccent_immutable(${c}), '')`;
}

/**
 * The generated `searchVector` as Twenty's `getTsVectorColumnExpressionFromFields` writes it (FACTS.md §d, SV;
 * `get-ts-vector-column-expression.util.ts@44697aa`): every searchable column through
 * `public.unaccent_immutable`, e-mails with their domain, phones also as calling code + number, without the
 * `+`, and with a leading `0`; parts joined by `' '`. `public.unaccent_immutable` comes from Twenty's database
 * setup (the `unaccent` extension); ./workspace.ts creates it (`TWENTY_FUNCTIONS_SQL`).
 */
const searchVector = (...fields: [name: string, type: TwentyFieldType][]): TwentyField => {
  const parts = fields.flatMap(([name, type]) => {
    if (!COMPOSITE_TYPES[type]) return [searchPart(name, type)];
    const own = searchableSubfields(type).map((sub) => searchPart(compositeColumnName(name, sub), type));
    if (type !== 'PHONES') return own;
    const number = `"${name}PrimaryPhoneNumber"`;
    const callingCode = `"${name}PrimaryPhoneCallingCode"`;
    return [
      ...own,
      `COALESCE(${callingCode} || ${number}, '')`,
      `COALESCE(REPLACE(${callingCode}, '+', '') || ${number}, '')`,
      `COALESCE('0' || ${number}, '')`,
    ];
  });
  return {
    name: 'searchVector',
    type: 'TS_VECTOR',
    settings: { asExpression: `to_tsvector('simple', ${parts.join(` || ' ' || `)})` },
  };
};
const manyToOne = (
  name: string,
  target: string,
  inverse: string,
  onDelete: 'SET NULL' | 'CASCADE' = 'SET NULL',
): TwentyField => ({
  name,
  type: 'RELATION',
  settings: { relationType: 'MANY_TO_ONE', joinColumnName: `${name}Id`, onDelete },
  relationTarget: { object: target, field: inverse },
});
const oneToMany = (name: string, target: string, inverse: string): TwentyField => ({
  name,
  type: 'RELATION',
  settings: { relationType: 'ONE_TO_MANY' },
  relationTarget: { object: target, field: inverse },
});
const RATING = opt('RATING_1', 'RATING_2', 'RATING_3', 'RATING_4', 'RATING_5');
const WORK = opt('ON_SITE', 'HYBRID', 'REMOTE_WORK');

export const company: TwentyObject = {
  nameSingular: 'company',
  namePlural: 'companies',
  labelPlural: 'Companies',
  labelIdentifierFieldName: 'name',
  fields: [
    ...BASE,
    { name: 'name', type: 'TEXT', label: 'Name' },
    { name: 'domainName', type: 'LINKS', label: 'Domain Name' },
    { name: 'address', type: 'ADDRESS', label: 'Address' },
    { name: 'employees', type: 'NUMBER', label: 'Employees', settings: { dataType: 'INT' } },
    { name: 'linkedinLink', type: 'LINKS', label: 'Linkedin' },
    { name: 'xLink', type: 'LINKS', label: 'X' },
    { name: 'annualRecurringRevenue', type: 'CURRENCY', label: 'ARR' },
    { name: 'idealCustomerProfile', type: 'BOOLEAN', isNullable: false, defaultValue: false, label: 'ICP' },
    POSITION,
    ...ACTORS,
    searchVector(['name', 'TEXT'], ['domainName', 'LINKS']),
    manyToOne('accountOwner', 'workspaceMember', 'accountOwnerForCompanies'),
    oneToMany('people', 'person', 'company'),
    oneToMany('opportunities', 'opportunity', 'company'),
    oneToMany('taskTargets', 'taskTarget', 'company'),
    oneToMany('noteTargets', 'noteTarget', 'company'),
    // Dev-seed custom fields.
    { name: 'tagline', type: 'TEXT', isNullable: false, defaultValue: "''", label: 'Tagline' },
    { name: 'introVideo', type: 'LINKS', label: 'Intro Video' },
    { name: 'workPolicy', type: 'MULTI_SELECT', options: WORK, label: 'Work Policy' },
    { name: 'visaSponsorship', type: 'BOOLEAN', defaultValue: false, label: 'Visa Sponsorship' },
  ],
};

export const person: TwentyObject = {
  nameSingular: 'person',
  namePlural: 'people',
  labelPlural: 'People',
  labelIdentifierFieldName: 'name',
  fields: [
    ...BASE,
    { name: 'name', type: 'FULL_NAME', label: 'Name' },
    { name: 'emails', type: 'EMAILS', label: 'Emails' },
    { name: 'linkedinLink', type: 'LINKS', label: 'Linkedin' },
    { name: 'xLink', type: 'LINKS', label: 'X' },
    { name: 'jobTitle', type: 'TEXT', label: 'Job Title' },
    { name: 'phones', type: 'PHONES', label: 'Phones' },
    { name: 'city', type: 'TEXT', label: 'City' },
    { name: 'avatarUrl', type: 'TEXT', label: 'Avatar' },
    POSITION,
    ...ACTORS,
    searchVector(['name', 'FULL_NAME'], ['emails', 'EMAILS'], ['phones', 'PHONES'], ['jobTitle', 'TEXT']),
    manyToOne('company', 'company', 'people'),
    oneToMany('pointOfContactForOpportunities', 'opportunity', 'pointOfContact'),
    oneToMany('taskTargets', 'taskTarget', 'person'),
    oneToMany('noteTargets', 'noteTarget', 'person'),
    // Dev-seed custom fields.
    { name: 'intro', type: 'TEXT', label: 'Intro' },
    {
      // Field NOT NULL with defaults; its sub-columns stay NULL-able (FACTS.md §d, dev-seed custom fields).
      name: 'whatsapp',
      type: 'PHONES',
      label: 'Whatsapp',
      isNullable: false,
      defaultValue: {
        primaryPhoneNumber: "''",
        primaryPhoneCountryCode: "'FR'",
        primaryPhoneCallingCode: "'+33'",
      },
    },
    { name: 'workPreference', type: 'MULTI_SELECT', options: WORK, label: 'Work Preference' },
    { name: 'performanceRating', type: 'RATING', options: RATING, label: 'Performance Rating' },
  ],
};

export const opportunity: TwentyObject = {
  nameSingular: 'opportunity',
  namePlural: 'opportunities',
  labelPlural: 'Opportunities',
  labelIdentifierFieldName: 'name',
  fields: [
    ...BASE,
    { name: 'name', type: 'TEXT', label: 'Name' },
    { name: 'amount', type: 'CURRENCY', label: 'Amount' },
    { name: 'closeDate', type: 'DATE_TIME', label: 'Close date' },
    {
      name: 'stage',
      type: 'SELECT',
      isNullable: false,
      defaultValue: "'NEW'",
      options: opt('NEW', 'SCREENING', 'MEETING', 'PROPOSAL', 'CUSTOMER'),
      label: 'Stage',
    },
    POSITION,
    ...ACTORS,
    searchVector(['name', 'TEXT']),
    manyToOne('pointOfContact', 'person', 'pointOfContactForOpportunities'),
    manyToOne('company', 'company', 'opportunities'),
    oneToMany('taskTargets', 'taskTarget', 'opportunity'),
    oneToMany('noteTargets', 'noteTarget', 'opportunity'),
  ],
};

export const task: TwentyObject = {
  nameSingular: 'task',
  namePlural: 'tasks',
  labelPlural: 'Tasks',
  labelIdentifierFieldName: 'title',
  fields: [
    ...BASE,
    POSITION,
    { name: 'title', type: 'TEXT', label: 'Title' },
    { name: 'bodyV2', type: 'RICH_TEXT_V2', label: 'Body' },
    { name: 'dueAt', type: 'DATE_TIME', label: 'Due Date' },
    {
      name: 'status',
      type: 'SELECT',
      defaultValue: "'TODO'",
      options: opt('TODO', 'IN_PROGRESS', 'DONE'),
      label: 'Status',
    },
    ...ACTORS,
    searchVector(['title', 'TEXT'], ['bodyV2', 'RICH_TEXT_V2']),
    manyToOne('assignee', 'workspaceMember', 'assignedTasks'),
    oneToMany('taskTargets', 'taskTarget', 'task'),
  ],
};

export const taskTarget: TwentyObject = {
  nameSingular: 'taskTarget',
  namePlural: 'taskTargets',
  labelPlural: 'Task Targets',
  fields: [
    ...BASE,
    manyToOne('task', 'task', 'taskTargets'),
    manyToOne('person', 'person', 'taskTargets', 'CASCADE'),
    manyToOne('company', 'company', 'taskTargets', 'CASCADE'),
    manyToOne('opportunity', 'opportunity', 'taskTargets', 'CASCADE'),
  ],
};

export const note: TwentyObject = {
  nameSingular: 'note',
  namePlural: 'notes',
  labelPlural: 'Notes',
  labelIdentifierFieldName: 'title',
  fields: [
    ...BASE,
    POSITION,
    { name: 'title', type: 'TEXT', label: 'Title' },
    { name: 'bodyV2', type: 'RICH_TEXT_V2', label: 'Body' },
    ...ACTORS,
    searchVector(['title', 'TEXT'], ['bodyV2', 'RICH_TEXT_V2']),
    oneToMany('noteTargets', 'noteTarget', 'note'),
  ],
};

export const noteTarget: TwentyObject = {
  nameSingular: 'noteTarget',
  namePlural: 'noteTargets',
  labelPlural: 'Note Targets',
  fields: [
    ...BASE,
    manyToOne('note', 'note', 'noteTargets', 'CASCADE'),
    manyToOne('person', 'person', 'noteTargets', 'CASCADE'),
    manyToOne('company', 'company', 'noteTargets', 'CASCADE'),
    manyToOne('opportunity', 'opportunity', 'noteTargets', 'CASCADE'),
  ],
};

export const workspaceMember: TwentyObject = {
  nameSingular: 'workspaceMember',
  namePlural: 'workspaceMembers',
  labelPlural: 'Workspace Members',
  labelIdentifierFieldName: 'name',
  fields: [
    ...BASE,
    POSITION,
    { name: 'name', type: 'FULL_NAME', isNullable: false, label: 'Name' },
    { name: 'colorScheme', type: 'TEXT', isNullable: false, defaultValue: "'System'", label: 'Color Scheme' },
    { name: 'locale', type: 'TEXT', isNullable: false, defaultValue: "'en'", label: 'Language' },
    { name: 'avatarUrl', type: 'TEXT', label: 'Avatar Url' },
    { name: 'userEmail', type: 'TEXT', label: 'User Email' },
    {
      name: 'calendarStartDay',
      type: 'NUMBER',
      isNullable: false,
      defaultValue: 7,
      settings: { dataType: 'INT' },
      label: 'Start of the week',
    },
    { name: 'userId', type: 'UUID', isNullable: false, label: 'User Id' },
    { name: 'timeZone', type: 'TEXT', isNullable: false, defaultValue: "'system'", label: 'Time zone' },
    {
      name: 'dateFormat',
      type: 'SELECT',
      isNullable: false,
      defaultValue: "'SYSTEM'",
      options: opt('SYSTEM', 'MONTH_FIRST', 'DAY_FIRST', 'YEAR_FIRST'),
      label: 'Date format',
    },
    {
      name: 'timeFormat',
      type: 'SELECT',
      isNullable: false,
      defaultValue: "'SYSTEM'",
      options: opt('SYSTEM', 'HOUR_24', 'HOUR_12'),
      label: 'Time format',
    },
    {
      name: 'numberFormat',
      type: 'SELECT',
      isNullable: false,
      defaultValue: "'SYSTEM'",
      options: opt('SYSTEM', 'COMMAS_AND_DOT', 'SPACES_AND_COMMA', 'DOTS_AND_COMMA', 'APOSTROPHE_AND_DOT'),
      label: 'Number format',
    },
    searchVector(['name', 'FULL_NAME'], ['userEmail', 'TEXT']),
    oneToMany('assignedTasks', 'task', 'assignee'),
    oneToMany('accountOwnerForCompanies', 'company', 'accountOwner'),
  ],
};

/** The eight standard objects the example syncs. */
export const standardObjects: TwentyObject[] = [
  company,
  person,
  opportunity,
  task,
  taskTarget,
  note,
  noteTarget,
  workspaceMember,
];

/**
 * The dev seed's custom object `pet` (table `_pet`): every field type Twenty has, in one object — the type
 * map's round-trip test uses it. Two fields are added to the seed's (FACTS.md §d lists the seed's): `documents`
 * (FILES), which the seed lacks, and `lastVisit` (DATE_TIME), a date-time that is not one of the BASE
 * create/update/delete dates.
 */
export const pet: TwentyObject = {
  nameSingular: 'pet',
  namePlural: 'pets',
  labelPlural: 'Pets',
  isCustom: true,
  labelIdentifierFieldName: 'name',
  fields: [
    ...BASE,
    { name: 'name', type: 'TEXT', label: 'Name', defaultValue: "'Untitled'" },
    {
      ...actor('createdBy', 'Created by'),
      defaultValue: { source: "'MANUAL'", name: "''", workspaceMemberId: null },
    },
    {
      ...actor('updatedBy', 'Updated by'),
      defaultValue: { source: "'MANUAL'", name: "''", workspaceMemberId: null },
    },
    POSITION,
    searchVector(['name', 'TEXT']),
    {
      name: 'species',
      type: 'SELECT',
      options: opt('DOG', 'CAT', 'HAMSTER', 'RABBIT', 'BIRD'),
      label: 'Species',
    },
    {
      name: 'traits',
      type: 'MULTI_SELECT',
      options: opt('PLAYFUL', 'CALM', 'CURIOUS', 'LAZY'),
      label: 'Traits',
    },
    { name: 'comments', type: 'TEXT', label: 'Comments' },
    { name: 'age', type: 'NUMBER', label: 'Age' },
    { name: 'location', type: 'ADDRESS', label: 'Location' },
    { name: 'vetPhone', type: 'PHONES', label: 'Vet phone' },
    { name: 'vetEmail', type: 'EMAILS', label: 'Vet email' },
    { name: 'birthday', type: 'DATE', label: 'Birthday' },
    { name: 'isGoodWithKids', type: 'BOOLEAN', label: 'Is good with kids' },
    { name: 'pictures', type: 'LINKS', label: 'Pictures' },
    { name: 'averageCostOfKibblePerMonth', type: 'CURRENCY', label: 'Average cost of kibble per month' },
    { name: 'makesOwnerThinkOf', type: 'FULL_NAME', label: 'Makes owner think of' },
    { name: 'soundSwag', type: 'RATING', options: RATING, label: 'Sound swag' },
    { name: 'bio', type: 'RICH_TEXT', label: 'Bio' },
    { name: 'interestingFacts', type: 'ARRAY', label: 'Interesting facts' },
    { name: 'extraData', type: 'RAW_JSON', label: 'Extra data' },
    { name: 'documents', type: 'FILES', label: 'Documents' },
    { name: 'lastVisit', type: 'DATE_TIME', label: 'Last visit' },
  ],
};

export { ACTOR_SOURCES };
