/**
 * The `$filter` subset Graph accepts on list items: `fields/X` compared with eq, ne, lt, le, gt, ge,
 * combined with and, or, not and parentheses, plus `startswith(fields/X,'v')`.
 * A tokenizer and a recursive-descent parser: quoted literals may contain anything, including keywords.
 */

export type FilterLiteral = string | number | boolean | null | { dateTime: number };

export type FilterOperand = { kind: 'field'; name: string } | { kind: 'literal'; value: FilterLiteral };

export type FilterNode =
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; operand: FilterNode }
  | { kind: 'compare'; op: ComparisonOperator; left: FilterOperand; right: FilterOperand }
  | { kind: 'startswith'; target: FilterOperand; prefix: FilterOperand };

type ComparisonOperator = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';
const COMPARISONS = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);

type Token =
  | { type: '(' | ')' | ','; at: number }
  | { type: 'string'; value: string; at: number }
  | { type: 'word'; value: string; at: number };

export class FilterSyntaxError extends Error {}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ type: c, at: i });
      i++;
    } else if (c === "'") {
      const start = i;
      let value = '';
      i++;
      for (;;) {
        if (i >= source.length)
          throw new FilterSyntaxError(`Unterminated string literal at position ${start}.`);
        const d = source[i]!;
        if (d === "'") {
          if (source[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += d;
        i++;
      }
      tokens.push({ type: 'string', value, at: start });
    } else {
      const start = i;
      while (i < source.length && !/[\s(),']/.test(source[i]!)) i++;
      tokens.push({ type: 'word', value: source.slice(start, i), at: start });
    }
  }
  return tokens;
}

const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/;

class Parser {
  private position = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly properties: ReadonlySet<string> = new Set(),
  ) {}

  parse(): FilterNode {
    const node = this.parseOr();
    const rest = this.tokens[this.position];
    if (rest) throw new FilterSyntaxError(`Unexpected '${describe(rest)}' at position ${rest.at}.`);
    return node;
  }

  private peekWord(): string | undefined {
    const t = this.tokens[this.position];
    return t?.type === 'word' ? t.value : undefined;
  }

  /** `a or b or …` (`or` binds loosest), each side an `and` chain. */
  private parseOr(): FilterNode {
    return this.parseChain('or', () => this.parseAnd());
  }

  private parseAnd(): FilterNode {
    return this.parseChain('and', () => this.parseUnary());
  }

  /** Left-associative `operand kind operand kind …`. */
  private parseChain(kind: 'and' | 'or', operand: () => FilterNode): FilterNode {
    let left = operand();
    while (this.peekWord() === kind) {
      this.position++;
      left = { kind, left, right: operand() };
    }
    return left;
  }

  private parseUnary(): FilterNode {
    if (this.peekWord() === 'not') {
      this.position++;
      return { kind: 'not', operand: this.parseUnary() };
    }
    return this.parsePrimary();
  }

  private expect(type: '(' | ')' | ','): void {
    const t = this.tokens[this.position];
    if (t?.type !== type) {
      throw new FilterSyntaxError(
        t
          ? `Expected '${type}' at position ${t.at}, found '${describe(t)}'.`
          : `Expected '${type}' at the end.`,
      );
    }
    this.position++;
  }

  private parsePrimary(): FilterNode {
    const t = this.tokens[this.position];
    if (!t) throw new FilterSyntaxError('Unexpected end of the filter expression.');
    if (t.type === '(') {
      this.position++;
      const inner = this.parseOr();
      this.expect(')');
      return inner;
    }
    if (t.type === 'word' && t.value === 'startswith' && this.tokens[this.position + 1]?.type === '(') {
      this.position += 2;
      const target = this.parseOperand();
      this.expect(',');
      const prefix = this.parseOperand();
      this.expect(')');
      return { kind: 'startswith', target, prefix };
    }
    const left = this.parseOperand();
    const op = this.tokens[this.position];
    if (op?.type !== 'word' || !COMPARISONS.has(op.value)) {
      throw new FilterSyntaxError(
        op
          ? `Expected a comparison operator at position ${op.at}, found '${describe(op)}'.`
          : 'Expected a comparison operator.',
      );
    }
    this.position++;
    const right = this.parseOperand();
    return { kind: 'compare', op: op.value as ComparisonOperator, left, right };
  }

  private parseOperand(): FilterOperand {
    const t = this.tokens[this.position];
    if (!t) throw new FilterSyntaxError('Unexpected end of the filter expression.');
    this.position++;
    if (t.type === 'string') return { kind: 'literal', value: t.value };
    if (t.type !== 'word') throw new FilterSyntaxError(`Unexpected '${t.type}' at position ${t.at}.`);
    const word = t.value;
    if (word === 'true' || word === 'false') return { kind: 'literal', value: word === 'true' };
    if (word === 'null') return { kind: 'literal', value: null };
    if (NUMBER.test(word)) return { kind: 'literal', value: Number(word) };
    if (DATE_TIME.test(word)) {
      const ms = Date.parse(word);
      if (Number.isNaN(ms)) throw new FilterSyntaxError(`Invalid date '${word}'.`);
      return { kind: 'literal', value: { dateTime: ms } };
    }
    if (word.startsWith('fields/') && /^fields\/[A-Za-z_][A-Za-z0-9_]*$/.test(word)) {
      return { kind: 'field', name: word.slice('fields/'.length) };
    }
    if (word === 'id') return { kind: 'field', name: 'id' };
    if (this.properties.has(word)) return { kind: 'field', name: word };
    throw new FilterSyntaxError(
      this.properties.size > 0
        ? `Unsupported operand '${word}' at position ${t.at}: use one of ${[...this.properties].join(', ')}.`
        : `Unsupported operand '${word}' at position ${t.at}: use fields/<name>.`,
    );
  }
}

function describe(t: Token): string {
  return t.type === 'string' ? `'${t.value}'` : t.type === 'word' ? t.value : t.type;
}

/** Parses a `$filter`; `properties` are bare property names allowed besides `fields/X` (e.g. a list's `displayName`). */
export function parseFilter(source: string, properties: readonly string[] = []): FilterNode {
  return new Parser(tokenize(source), new Set(properties)).parse();
}

/** Field names the expression reads (to check they exist and are indexed). */
export function filterFields(node: FilterNode): string[] {
  const names = new Set<string>();
  const visitOperand = (o: FilterOperand) => {
    if (o.kind === 'field') names.add(o.name);
  };
  const visit = (n: FilterNode): void => {
    switch (n.kind) {
      case 'and':
      case 'or':
        visit(n.left);
        visit(n.right);
        break;
      case 'not':
        visit(n.operand);
        break;
      case 'compare':
        visitOperand(n.left);
        visitOperand(n.right);
        break;
      case 'startswith':
        visitOperand(n.target);
        visitOperand(n.prefix);
        break;
    }
  };
  visit(node);
  return [...names];
}

type Value = string | number | boolean | null;

function operandValue(o: FilterOperand, read: (name: string) => unknown): Value | { dateTime: number } {
  if (o.kind === 'literal') return o.value;
  const v = read(o.name);
  if (v === undefined || v === null) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return String(v);
}

function comparable(
  a: Value | { dateTime: number },
  b: Value | { dateTime: number },
): [number | string | boolean, number | string | boolean] | undefined {
  if (a === null || b === null) return undefined;
  const asDate = (v: Value | { dateTime: number }) =>
    typeof v === 'object' && v !== null ? v.dateTime : typeof v === 'string' ? Date.parse(v) : Number.NaN;
  if (typeof a === 'object' || typeof b === 'object') {
    const x = asDate(a);
    const y = asDate(b);
    return Number.isNaN(x) || Number.isNaN(y) ? undefined : [x, y];
  }
  if (typeof a === 'number' || typeof b === 'number') {
    const x = Number(a);
    const y = Number(b);
    return Number.isNaN(x) || Number.isNaN(y) ? undefined : [x, y];
  }
  // SharePoint compares text case-insensitively.
  if (typeof a === 'string' && typeof b === 'string') return [a.toLowerCase(), b.toLowerCase()];
  return [a, b];
}

export function evaluateFilter(node: FilterNode, read: (name: string) => unknown): boolean {
  switch (node.kind) {
    case 'and':
      return evaluateFilter(node.left, read) && evaluateFilter(node.right, read);
    case 'or':
      return evaluateFilter(node.left, read) || evaluateFilter(node.right, read);
    case 'not':
      return !evaluateFilter(node.operand, read);
    case 'startswith': {
      const target = operandValue(node.target, read);
      const prefix = operandValue(node.prefix, read);
      if (typeof target !== 'string' || typeof prefix !== 'string') return false;
      return target.toLowerCase().startsWith(prefix.toLowerCase());
    }
    case 'compare': {
      const a = operandValue(node.left, read);
      const b = operandValue(node.right, read);
      if (a === null || b === null) {
        const same = a === b;
        if (node.op === 'eq') return same;
        if (node.op === 'ne') return !same;
        return false;
      }
      const pair = comparable(a, b);
      if (!pair) return node.op === 'ne';
      const [x, y] = pair;
      switch (node.op) {
        case 'eq':
          return x === y;
        case 'ne':
          return x !== y;
        case 'lt':
          return x < y;
        case 'le':
          return x <= y;
        case 'gt':
          return x > y;
        case 'ge':
          return x >= y;
      }
    }
  }
}
