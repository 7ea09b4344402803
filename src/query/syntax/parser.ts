// Recursive-descent parser for the Stream Analytics subset. Keywords and identifiers are matched
// case-insensitively; every error names the position and what was expected there.
import { assertNever, QueryError, type SourcePosition } from '../model/errors.js';
import { timeUnitNames, timeUnitOf, unitMs } from '../model/time.js';
import type { TypeName } from '../model/values.js';
import { tokenize, type Token } from './lexer.js';
import type {
  ApplyClause, BinaryOperator, CallArgument, CallExpression, Duration, Expression, FromClause, GroupBy,
  Identifier, JoinClause, OrderItem, OverClause, Query, SelectItem, SelectStatement, SourceReference,
  Statement, Step, TableDeclaration, WindowSpec,
} from './ast.js';
import { isWindowCall, windowFunctions, windowKindOf, type WindowFunction } from './window-kinds.js';
import { parseMatchRecognize, type ClauseCursor } from './match-recognize-syntax.js';

/** Words that end an expression or a clause, so they are never taken as an implicit alias. */
const reserved = new Set([
  'select', 'from', 'where', 'group', 'having', 'into', 'join', 'left', 'inner', 'right', 'full', 'cross', 'outer',
  'on', 'as', 'timestamp', 'by', 'union', 'with', 'and', 'or', 'not', 'case', 'when', 'then', 'else', 'end',
  'is', 'null', 'between', 'in', 'like', 'over', 'partition', 'apply', 'limit', 'distinct', 'order', 'create', 'all',
  'match_recognize',
]);

const typeNames: Record<string, TypeName> = {
  bigint: 'bigint', float: 'float', datetime: 'datetime', bit: 'bit', record: 'record', array: 'array', nvarchar: 'nvarchar(max)',
};

export function parseQuery(text: string): Query {
  return new Parser(tokenize(text)).query();
}

class Parser {
  private i = 0;

  constructor(private readonly tokens: Token[]) {}

  // --- token helpers ---------------------------------------------------------------------------

  private get token(): Token {
    return this.tokens[this.i]!;
  }

  private peek(n = 1): Token {
    return this.tokens[Math.min(this.i + n, this.tokens.length - 1)]!;
  }

  private isWord(word: string, t: Token = this.token): boolean {
    return t.kind === 'word' && t.text.toLowerCase() === word;
  }

  private isSymbol(symbol: string, t: Token = this.token): boolean {
    return t.kind === 'symbol' && t.text === symbol;
  }

  private acceptWord(word: string): boolean {
    if (!this.isWord(word)) return false;
    this.i++;
    return true;
  }

  private acceptSymbol(symbol: string): boolean {
    if (!this.isSymbol(symbol)) return false;
    this.i++;
    return true;
  }

  private fail(expected: string, t: Token = this.token): never {
    const found = t.kind === 'end' ? 'end of query' : t.kind === 'string' ? `'${t.text}'` : t.kind === 'quoted' ? `[${t.text}]` : `'${t.text}'`;
    throw new QueryError('SYNTAX_ERROR', `expected ${expected} but found ${found}`, t.position);
  }

  private expectWord(word: string): Token {
    if (!this.isWord(word)) this.fail(word.toUpperCase());
    return this.tokens[this.i++]!;
  }

  private expectSymbol(symbol: string): Token {
    if (!this.isSymbol(symbol)) this.fail(`'${symbol}'`);
    return this.tokens[this.i++]!;
  }

  private identifier(what = 'an identifier'): Identifier {
    const t = this.token;
    if (t.kind === 'quoted' || (t.kind === 'word' && !reserved.has(t.text.toLowerCase()))) {
      this.i++;
      return { name: t.text, position: t.position };
    }
    return this.fail(what);
  }

  private isIdentifierStart(t: Token = this.token): boolean {
    return t.kind === 'quoted' || (t.kind === 'word' && !reserved.has(t.text.toLowerCase()));
  }

  // --- statements ------------------------------------------------------------------------------

  query(): Query {
    const tables: TableDeclaration[] = [];
    while (this.isWord('create')) {
      tables.push(this.createTable());
      this.acceptSymbol(';');
    }
    const steps: Step[] = [];
    if (this.acceptWord('with')) {
      do {
        const name = this.identifier('a step name');
        this.expectWord('as');
        this.expectSymbol('(');
        const body = this.statement();
        this.expectSymbol(')');
        steps.push({ name, body, position: name.position });
      } while (this.acceptSymbol(','));
    }
    const statements: Statement[] = [];
    while (this.acceptSymbol(';'));
    do {
      statements.push(this.statement());
      while (this.acceptSymbol(';'));
    } while (this.token.kind !== 'end');
    return { tables, steps, statements };
  }

  private createTable(): TableDeclaration {
    const position = this.expectWord('create').position;
    this.expectWord('table');
    const name = this.identifier('a table name');
    this.expectSymbol('(');
    const columns: { name: Identifier; type: TypeName }[] = [];
    do {
      columns.push({ name: this.identifier('a column name'), type: this.typeName() });
    } while (this.acceptSymbol(','));
    this.expectSymbol(')');
    return { name, columns, position };
  }

  private statement(): Statement {
    const first = this.select();
    if (!this.isWord('union')) return first;
    const selects = [first];
    while (this.acceptWord('union')) {
      this.acceptWord('all');
      selects.push(this.select());
    }
    return { kind: 'union', selects, position: first.position };
  }

  private select(): SelectStatement {
    const position = this.expectWord('select').position;
    if (this.acceptWord('top')) this.fail('a select list (TOP is not part of the Stream Analytics language)', this.tokens[this.i - 1]);
    const items: SelectItem[] = [];
    do items.push(this.selectItem()); while (this.acceptSymbol(','));
    const into = this.acceptWord('into') ? this.identifier('an output name') : null;
    this.expectWord('from');
    const from = this.sourceReference();
    const matchRecognize = this.isWord('match_recognize') ? parseMatchRecognize(this.cursor()) : null;
    const clauses: FromClause[] = [];
    for (;;) {
      const clause = this.fromClause();
      if (!clause) break;
      clauses.push(clause);
    }
    const where = this.acceptWord('where') ? this.expression() : null;
    const groupBy = this.isWord('group') ? this.groupBy() : null;
    const having = this.acceptWord('having') ? this.expression() : null;
    return { kind: 'select', items, into, from, matchRecognize, clauses, where, groupBy, having, position };
  }

  /** The parser as MATCH_RECOGNIZE's clause parser sees it. */
  private cursor(): ClauseCursor {
    return {
      current: () => this.token,
      peek: (n) => this.peek(n),
      advance: () => this.tokens[this.i++]!,
      isWord: (w, t) => this.isWord(w, t),
      isSymbol: (s, t) => this.isSymbol(s, t),
      acceptWord: (w) => this.acceptWord(w),
      acceptSymbol: (s) => this.acceptSymbol(s),
      expectWord: (w) => this.expectWord(w),
      expectSymbol: (s) => this.expectSymbol(s),
      identifier: (what) => this.identifier(what),
      expression: () => this.expression(),
      fail: (expected, t) => this.fail(expected, t),
    };
  }

  private selectItem(): SelectItem {
    const position = this.token.position;
    if (this.acceptSymbol('*')) return { kind: 'wildcard', path: [], position };
    // `alias.*` / `record.path.*`
    if (this.isIdentifierStart()) {
      let n = 0;
      while (this.isIdentifierStart(this.peek(n)) && this.isSymbol('.', this.peek(n + 1))) {
        if (this.isSymbol('*', this.peek(n + 2))) {
          const path: Identifier[] = [];
          for (let k = 0; k <= n; k += 2) {
            path.push(this.identifier());
            this.expectSymbol('.');
          }
          this.expectSymbol('*');
          return { kind: 'wildcard', path, position };
        }
        n += 2;
      }
      // `alias = expression`
      if (this.isSymbol('=', this.peek())) {
        const alias = this.identifier();
        this.expectSymbol('=');
        return { kind: 'expression', expression: this.expression(), alias, position };
      }
    }
    const expression = this.expression();
    let alias: Identifier | null = null;
    if (this.acceptWord('as')) {
      const t = this.token;
      if (t.kind === 'string') { this.i++; alias = { name: t.text, position: t.position }; }
      else alias = this.identifier('an alias');
    } else if (this.token.kind === 'string') {
      alias = { name: this.token.text, position: this.token.position };
      this.i++;
    } else if (this.isIdentifierStart()) {
      alias = this.identifier();
    }
    return { kind: 'expression', expression, alias, position };
  }

  private sourceReference(): SourceReference {
    const name = this.identifier('an input or step name');
    let alias = name;
    if (this.acceptWord('as')) alias = this.identifier('an alias');
    else if (this.isIdentifierStart()) alias = this.identifier();
    let timestampBy: Expression | null = null;
    let over: Expression[] = [];
    for (;;) {
      if (this.isWord('timestamp') && this.isWord('by', this.peek())) {
        if (timestampBy) this.fail('one TIMESTAMP BY per source');
        this.i += 2;
        timestampBy = this.expression();
        if (this.acceptWord('over')) over = this.expressionList();
      } else if (this.isWord('partition') && this.isWord('by', this.peek())) {
        // A parallelism hint for the cloud service: parsed and ignored by one process.
        this.i += 2;
        this.expressionList();
        if (this.isWord('into') && this.peek().kind === 'number') this.i += 2;
      } else break;
    }
    return { name, alias, timestampBy, over, position: name.position };
  }

  private fromClause(): FromClause | null {
    const position = this.token.position;
    if (this.isWord('cross') || (this.isWord('outer') && this.isWord('apply', this.peek()))) {
      const type = this.isWord('cross') ? 'cross' : 'outer';
      this.i++;
      this.expectWord('apply');
      const call = this.expression();
      if (call.kind !== 'call') this.fail('GetArrayElements(…) or GetRecordProperties(…)');
      this.acceptWord('as');
      const alias = this.identifier('an alias for the applied rows');
      return { kind: 'apply', type, call, alias, position } satisfies ApplyClause;
    }
    let type: JoinClause['type'];
    if (this.acceptWord('join')) type = 'inner';
    else if (this.isWord('inner')) { this.i++; this.expectWord('join'); type = 'inner'; }
    else if (this.isWord('left')) { this.i++; this.acceptWord('outer'); this.expectWord('join'); type = 'left'; }
    else if (this.isWord('right') || this.isWord('full')) return this.fail('JOIN, LEFT JOIN or CROSS APPLY (only INNER and LEFT OUTER joins exist)');
    else return null;
    const source = this.sourceReference();
    this.expectWord('on');
    const on = this.expression();
    return { kind: 'join', type, source, on, position } satisfies JoinClause;
  }

  private groupBy(): GroupBy {
    const position = this.expectWord('group').position;
    this.expectWord('by');
    const keys: Expression[] = [];
    let window: WindowSpec | null = null;
    do {
      const item = this.expression();
      const spec = this.windowOf(item);
      if (!spec) keys.push(item);
      // Beside a real window, System.Timestamp() is the window end: the same for the whole window.
      else if (window?.kind === 'snapshot' && spec.kind !== 'snapshot') window = spec;
      else if (window && spec.kind === 'snapshot' && window.kind !== 'snapshot') continue;
      else if (window) throw new QueryError('MULTIPLE_WINDOWS', 'GROUP BY takes one window; write one statement per window', spec.position);
      else window = spec;
    } while (this.acceptSymbol(','));
    return { keys, window, position };
  }

  // --- windows ---------------------------------------------------------------------------------

  private windowOf(e: Expression): WindowSpec | null {
    if (e.kind === 'systemTimestamp') return { kind: 'snapshot', position: e.position };
    if (e.kind !== 'call') return null;
    const position = e.position;
    const kind = windowKindOf(e.name);
    if (kind === undefined) {
      if (!isWindowCall(e.name)) return null;
      throw new QueryError('UNSUPPORTED', 'Windows(…) with several window definitions is not supported; write one statement per window', position);
    }
    const a = this.windowArgs(e, windowFunctions[kind]);
    switch (kind) {
      case 'tumbling': return { kind, size: a.duration!, offset: a.offset ?? 0, position };
      case 'hopping': return { kind, size: a.duration!, hop: a.hop!, offset: a.offset ?? 0, position };
      case 'sliding': return { kind, size: a.duration!, position };
      case 'session':
        if (e.over && (e.over.orderBy.length > 0 || e.over.limitDuration || e.over.when)) {
          throw new QueryError('SYNTAX_ERROR', 'a session window takes only OVER (PARTITION BY …)', e.over.position);
        }
        return { kind, timeout: a.timeout!, maxDuration: a.maxduration!, partitionBy: e.over?.partitionBy ?? [], position };
      default: return assertNever(kind);
    }
  }

  /**
   * Window arguments in either spelling: positional `(unit, size[, hop][, offset])`, or named
   * `(Duration(unit, n), Hop(unit, n), Offset(unit, n))`. Returns durations keyed by role.
   */
  private windowArgs(call: CallExpression, window: WindowFunction): Record<string, Duration | undefined> & { offset?: number } {
    const roles = window.offset ? [...window.durations, 'offset'] : window.durations;
    const min = 1 + window.durations.length, max = roles.length + 1;
    const args = call.args;
    const named = args.length > 0 && args.every((a) => a.kind === 'call');
    const out: Record<string, Duration | undefined> & { offset?: number } = {};
    if (named) {
      for (const a of args as CallExpression[]) {
        if (!roles.includes(a.name)) throw new QueryError('INVALID_ARGUMENT', `${call.displayName} takes ${roles.map((r) => `${r[0]!.toUpperCase()}${r.slice(1)}(…)`).join(', ')}; found ${a.displayName}`, a.position);
        const d = durationArgs(a.args, a.position, a.name === 'offset');
        if (a.name === 'offset') out.offset = d.unitMs * d.amount;
        else out[a.name] = { unit: d.unit, amount: d.amount, position: a.position };
      }
      for (const r of window.durations) if (!out[r]) throw new QueryError('INVALID_ARGUMENT', `${call.displayName} needs ${r[0]!.toUpperCase()}${r.slice(1)}(unit, size)`, call.position);
      return out;
    }
    if (args.length < min || args.length > max) {
      throw new QueryError('WRONG_ARGUMENT_COUNT', `${call.displayName} takes ${min === max ? min : `${min} to ${max}`} arguments (a time unit then sizes); found ${args.length}`, call.position);
    }
    const unitArg = args[0]!;
    const unit = unitArg.kind === 'column' && unitArg.path.length === 1 ? timeUnitOf(unitArg.path[0]!.name) : undefined;
    if (!unit) throw new QueryError('INVALID_ARGUMENT', `expected a time unit (${timeUnitNames()})`, unitArg.position);
    const sizes = window.durations;
    args.slice(1).forEach((a, k) => {
      const allowNegative = k >= sizes.length;
      const amount = constantNumber(a, allowNegative);
      if (k < sizes.length) out[sizes[k]!] = { unit, amount, position: a.position };
      else out.offset = amount * unitMs(unit);
    });
    return out;
  }

  // --- expressions -----------------------------------------------------------------------------

  private expressionList(): Expression[] {
    const list = [this.expression()];
    while (this.acceptSymbol(',')) list.push(this.expression());
    return list;
  }

  expression(): Expression {
    return this.or();
  }

  private or(): Expression {
    let left = this.and();
    while (this.isWord('or')) {
      const position = this.token.position;
      this.i++;
      left = { kind: 'binary', operator: 'or', left, right: this.and(), position };
    }
    return left;
  }

  private and(): Expression {
    let left = this.not();
    while (this.isWord('and')) {
      const position = this.token.position;
      this.i++;
      left = { kind: 'binary', operator: 'and', left, right: this.not(), position };
    }
    return left;
  }

  private not(): Expression {
    if (this.isWord('not')) {
      const position = this.token.position;
      this.i++;
      return { kind: 'unary', operator: 'not', operand: this.not(), position };
    }
    return this.predicate();
  }

  private predicate(): Expression {
    const left = this.additive();
    const position = this.token.position;
    const comparison = this.comparisonOperator();
    if (comparison) return { kind: 'binary', operator: comparison, left, right: this.additive(), position };
    if (this.acceptWord('is')) {
      const negated = this.acceptWord('not');
      this.expectWord('null');
      return { kind: 'isNull', operand: left, negated, position };
    }
    const negated = this.isWord('not') && (this.isWord('between', this.peek()) || this.isWord('in', this.peek()) || this.isWord('like', this.peek()));
    if (negated) this.i++;
    if (this.acceptWord('between')) {
      const low = this.additive();
      this.expectWord('and');
      return { kind: 'between', operand: left, low, high: this.additive(), negated, position };
    }
    if (this.acceptWord('in')) {
      this.expectSymbol('(');
      const list = this.expressionList();
      this.expectSymbol(')');
      return { kind: 'in', operand: left, list, negated, position };
    }
    if (this.acceptWord('like')) return { kind: 'like', operand: left, pattern: this.additive(), negated, position };
    if (negated) this.fail('BETWEEN, IN or LIKE');
    return left;
  }

  private comparisonOperator(): BinaryOperator | null {
    const t = this.token;
    if (t.kind !== 'symbol') return null;
    const op = ({ '=': '=', '<>': '<>', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=', '!<': '>=', '!>': '<=' } as const)[t.text as '='];
    if (op) this.i++;
    return op ?? null;
  }

  private additive(): Expression {
    let left = this.multiplicative();
    for (;;) {
      const t = this.token;
      if (t.kind !== 'symbol' || !['+', '-', '&', '|', '^'].includes(t.text)) return left;
      this.i++;
      left = { kind: 'binary', operator: t.text as BinaryOperator, left, right: this.multiplicative(), position: t.position };
    }
  }

  private multiplicative(): Expression {
    let left = this.unary();
    for (;;) {
      const t = this.token;
      if (t.kind !== 'symbol' || !['*', '/', '%'].includes(t.text)) return left;
      this.i++;
      left = { kind: 'binary', operator: t.text as BinaryOperator, left, right: this.unary(), position: t.position };
    }
  }

  private unary(): Expression {
    const t = this.token;
    if (this.isSymbol('-') || this.isSymbol('+') || this.isSymbol('~')) {
      this.i++;
      const operand = this.unary();
      if (t.text === '-' && operand.kind === 'literal' && typeof operand.value === 'number') {
        return { kind: 'literal', value: -operand.value, position: t.position };
      }
      return { kind: 'unary', operator: t.text === '-' ? 'negate' : t.text === '+' ? 'plus' : 'bitwiseNot', operand, position: t.position };
    }
    return this.primary();
  }

  private primary(): Expression {
    const t = this.token;
    switch (t.kind) {
      case 'number':
        this.i++;
        return { kind: 'literal', value: Number(t.text), position: t.position };
      case 'string':
        this.i++;
        return { kind: 'literal', value: t.text, position: t.position };
      case 'symbol':
        if (t.text === '(') {
          this.i++;
          const e = this.expression();
          this.expectSymbol(')');
          return e;
        }
        return this.fail('an expression');
      case 'end':
        return this.fail('an expression');
      case 'word': {
        const word = t.text.toLowerCase();
        if (word === 'null') { this.i++; return { kind: 'literal', value: null, position: t.position }; }
        if (word === 'case') return this.caseExpression();
        if ((word === 'cast' || word === 'try_cast') && this.isSymbol('(', this.peek())) return this.cast(word === 'try_cast');
        if ((word === 'left' || word === 'right') && this.isSymbol('(', this.peek())) {
          // LEFT(s, n) and RIGHT(s, n) are functions, although LEFT also starts a join.
          this.i++;
          return this.call(word, t.text, t.position);
        }
        if (reserved.has(word)) return this.fail('an expression');
        return this.pathOrCall();
      }
      case 'quoted':
        return this.pathOrCall();
    }
  }

  private pathOrCall(): Expression {
    const position = this.token.position;
    const path: Identifier[] = [this.identifier()];
    while (this.isSymbol('.') && (this.isIdentifierStart(this.peek()) || this.peek().kind === 'word')) {
      this.i++;
      const t = this.token;
      this.i++;
      path.push({ name: t.text, position: t.position });
    }
    const lowered = path.map((p) => p.name.toLowerCase()).join('.');
    if (this.isSymbol('(')) {
      if (lowered === 'system.timestamp') {
        this.i++;
        this.expectSymbol(')');
        return { kind: 'systemTimestamp', position };
      }
      return this.call(lowered, path.map((p) => p.name).join('.'), position);
    }
    // The legacy spelling without parentheses still appears in the documentation.
    if (lowered === 'system.timestamp') return { kind: 'systemTimestamp', position };
    return { kind: 'column', path, position };
  }

  private call(name: string, displayName: string, position: SourcePosition): CallExpression {
    this.expectSymbol('(');
    const args: CallArgument[] = [];
    let distinct = false;
    if (!this.isSymbol(')')) {
      if (this.acceptWord('distinct')) distinct = true;
      else this.acceptWord('all');
      do {
        if (this.isSymbol('*')) {
          args.push({ kind: 'star', position: this.token.position });
          this.i++;
        } else args.push(this.expression());
      } while (this.acceptSymbol(','));
    }
    this.expectSymbol(')');
    const over = this.isWord('over') ? this.overClause() : null;
    return { kind: 'call', name, displayName, args, distinct, over, position };
  }

  private overClause(): OverClause {
    const position = this.expectWord('over').position;
    this.expectSymbol('(');
    let partitionBy: Expression[] = [];
    const orderBy: OrderItem[] = [];
    let limitDuration: Duration | null = null;
    let when: Expression | null = null;
    for (;;) {
      if (this.isWord('partition')) {
        this.i++;
        this.expectWord('by');
        partitionBy = this.expressionList();
      } else if (this.isWord('order')) {
        this.i++;
        this.expectWord('by');
        do {
          const expression = this.expression();
          const descending = this.acceptWord('desc') ? true : (this.acceptWord('asc'), false);
          orderBy.push({ expression, descending });
        } while (this.acceptSymbol(','));
      } else if (this.isWord('limit')) {
        const at = this.token.position;
        this.i++;
        this.expectWord('duration');
        this.expectSymbol('(');
        const unitToken = this.token;
        const unit = unitToken.kind === 'word' ? timeUnitOf(unitToken.text) : undefined;
        if (!unit) this.fail(`a time unit (${timeUnitNames()})`);
        this.i++;
        this.expectSymbol(',');
        const amount = constantNumber(this.expression(), false);
        this.expectSymbol(')');
        limitDuration = { unit, amount, position: at };
      } else if (this.isWord('when')) {
        this.i++;
        when = this.expression();
      } else break;
    }
    this.expectSymbol(')');
    return { partitionBy, orderBy, limitDuration, when, position };
  }

  private caseExpression(): Expression {
    const position = this.expectWord('case').position;
    const operand = this.isWord('when') ? null : this.expression();
    const branches: { when: Expression; then: Expression }[] = [];
    while (this.acceptWord('when')) {
      const when = this.expression();
      this.expectWord('then');
      branches.push({ when, then: this.expression() });
    }
    if (branches.length === 0) this.fail('WHEN');
    const otherwise = this.acceptWord('else') ? this.expression() : null;
    this.expectWord('end');
    return { kind: 'case', operand, branches, otherwise, position };
  }

  private cast(lenient: boolean): Expression {
    const position = this.token.position;
    this.i++;
    this.expectSymbol('(');
    const operand = this.expression();
    this.expectWord('as');
    const type = this.typeName();
    this.expectSymbol(')');
    return { kind: 'cast', operand, type, lenient, position };
  }

  private typeName(): TypeName {
    const t = this.token;
    const type = t.kind === 'word' ? typeNames[t.text.toLowerCase()] : undefined;
    if (!type) return this.fail('a type (bigint, float, nvarchar(max), datetime, bit, record, array)');
    this.i++;
    if (type === 'nvarchar(max)') {
      this.expectSymbol('(');
      this.expectWord('max');
      this.expectSymbol(')');
    }
    return type;
  }
}

function constantNumber(e: CallArgument, allowNegative: boolean): number {
  if (e.kind !== 'literal' || typeof e.value !== 'number' || (!allowNegative && e.value <= 0)) {
    throw new QueryError('INVALID_ARGUMENT', allowNegative ? 'expected a constant number' : 'expected a positive constant number', e.position);
  }
  return e.value;
}

function durationArgs(args: readonly CallArgument[], position: SourcePosition, allowNegative: boolean): { unit: Duration['unit']; amount: number; unitMs: number } {
  if (args.length !== 2) throw new QueryError('WRONG_ARGUMENT_COUNT', 'expected (time unit, size)', position);
  const u = args[0]!;
  const unit = u.kind === 'column' && u.path.length === 1 ? timeUnitOf(u.path[0]!.name) : undefined;
  if (!unit) throw new QueryError('INVALID_ARGUMENT', `expected a time unit (${timeUnitNames()})`, u.position);
  return { unit, amount: constantNumber(args[1]!, allowNegative), unitMs: unitMs(unit) };
}
