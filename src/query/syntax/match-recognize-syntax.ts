// MATCH_RECOGNIZE as written: its tree and its parser. The clause follows FROM (after TIMESTAMP
// BY) and reads like a small language of its own: a regular expression over pattern variables
// (PATTERN), the condition of each variable (DEFINE) and the values of a match (MEASURES). The
// parser here gets the main parser's tokens and expression parser through a narrow cursor, so the
// main parser only needs to know where the clause starts.
import { QueryError, type SourcePosition } from '../model/errors.js';
import { timeUnitNames, timeUnitOf } from '../model/time.js';
import type { Duration, Expression, Identifier, Located } from './ast.js';
import type { Token } from './lexer.js';

export interface MatchRecognizeClause extends Located {
  readonly limitDuration: Duration | null;
  readonly partitionBy: readonly Expression[];
  readonly measures: readonly { readonly expression: Expression; readonly alias: Identifier }[];
  readonly skip: AfterMatchSkip;
  readonly pattern: PatternNode;
  readonly define: readonly { readonly variable: Identifier; readonly condition: Expression }[];
  /** `) AS alias`; null when absent (the source's alias then names the matches). */
  readonly alias: Identifier | null;
}

/**
 * Where matching resumes after a match: at the event after the match's first event (overlapping
 * matches), or after its last event. The omitted clause is `pastLastRow`, as in the SQL standard.
 */
export type AfterMatchSkip = 'toNextRow' | 'pastLastRow';

export type PatternNode = PatternVariable | PatternSequence | PatternAlternation | PatternRepeat;

export interface PatternVariable extends Located {
  readonly kind: 'variable';
  readonly name: Identifier;
}

export interface PatternSequence extends Located {
  readonly kind: 'sequence';
  readonly items: readonly PatternNode[];
}

export interface PatternAlternation extends Located {
  readonly kind: 'alternation';
  readonly options: readonly PatternNode[];
}

/** `x*`, `x+`, `x?`, `x{n}`, `x{n,}`, `x{,m}`, `x{n,m}`; a trailing `?` makes it reluctant. */
export interface PatternRepeat extends Located {
  readonly kind: 'repeat';
  readonly item: PatternNode;
  readonly min: number;
  /** Infinity when unbounded. */
  readonly max: number;
  readonly greedy: boolean;
}

/** The largest bound of `{n,m}`: each repetition is a copy of the item in the matcher's program. */
export const maxRepeatBound = 100;

/** What the clause parser needs of the main parser. */
export interface ClauseCursor {
  current(): Token;
  peek(n?: number): Token;
  advance(): Token;
  isWord(word: string, t?: Token): boolean;
  isSymbol(symbol: string, t?: Token): boolean;
  acceptWord(word: string): boolean;
  acceptSymbol(symbol: string): boolean;
  expectWord(word: string): Token;
  expectSymbol(symbol: string): Token;
  identifier(what?: string): Identifier;
  expression(): Expression;
  fail(expected: string, t?: Token): never;
}

type ClauseName = 'limit' | 'partition' | 'measures' | 'after' | 'pattern' | 'define' | 'one';

/** Parses `MATCH_RECOGNIZE ( … ) [AS alias]`, the cursor on MATCH_RECOGNIZE. */
export function parseMatchRecognize(c: ClauseCursor): MatchRecognizeClause {
  const position = c.expectWord('match_recognize').position;
  c.expectSymbol('(');
  const seen = new Set<ClauseName>();
  const once = (name: ClauseName, t: Token): void => {
    if (seen.has(name)) throw new QueryError('SYNTAX_ERROR', `${t.text.toUpperCase()} appears twice in MATCH_RECOGNIZE`, t.position);
    seen.add(name);
  };
  let limitDuration: Duration | null = null;
  let partitionBy: Expression[] = [];
  const measures: { expression: Expression; alias: Identifier }[] = [];
  let skip: AfterMatchSkip = 'pastLastRow';
  let pattern: PatternNode | null = null;
  const define: { variable: Identifier; condition: Expression }[] = [];

  for (;;) {
    const t = c.current();
    if (c.isWord('limit')) {
      once('limit', t);
      c.advance();
      c.expectWord('duration');
      limitDuration = durationClause(c, t.position);
    } else if (c.isWord('partition')) {
      once('partition', t);
      c.advance();
      c.expectWord('by');
      partitionBy = [c.expression()];
      while (c.acceptSymbol(',')) partitionBy.push(c.expression());
    } else if (c.isWord('measures')) {
      once('measures', t);
      c.advance();
      do {
        const expression = c.expression();
        c.expectWord('as');
        measures.push({ expression, alias: c.identifier('a name for the measure') });
      } while (c.acceptSymbol(','));
    } else if (c.isWord('after')) {
      once('after', t);
      c.advance();
      skip = skipClause(c);
    } else if (c.isWord('one')) {
      // ONE ROW PER MATCH: the only output mode, written or not.
      once('one', t);
      c.advance();
      c.expectWord('row');
      c.expectWord('per');
      c.expectWord('match');
    } else if (c.isWord('all') && c.isWord('rows', c.peek())) {
      throw new QueryError('UNSUPPORTED', 'ALL ROWS PER MATCH is not supported: a match gives ONE ROW PER MATCH', t.position);
    } else if (c.isWord('order') && c.isWord('by', c.peek())) {
      throw new QueryError('UNSUPPORTED', 'ORDER BY is not part of MATCH_RECOGNIZE here: events are matched in timestamp order (TIMESTAMP BY)', t.position);
    } else if (c.isWord('subset')) {
      throw new QueryError('UNSUPPORTED', 'SUBSET is not supported in MATCH_RECOGNIZE', t.position);
    } else if (c.isWord('pattern')) {
      once('pattern', t);
      c.advance();
      c.expectSymbol('(');
      pattern = alternation(c);
      c.expectSymbol(')');
    } else if (c.isWord('define')) {
      once('define', t);
      c.advance();
      do {
        const variable = c.identifier('a pattern variable');
        c.expectWord('as');
        define.push({ variable, condition: c.expression() });
      } while (c.acceptSymbol(','));
    } else break;
  }
  if (!pattern) c.fail(seen.size === 0 ? 'LIMIT DURATION, PARTITION BY, MEASURES, AFTER MATCH SKIP, PATTERN or DEFINE' : 'PATTERN (…)');
  if (define.length === 0) c.fail('DEFINE');
  c.expectSymbol(')');
  let alias: Identifier | null = null;
  if (c.acceptWord('as')) alias = c.identifier('an alias for the matches');
  return { limitDuration, partitionBy, measures, skip, pattern, define, alias, position };
}

function durationClause(c: ClauseCursor, position: SourcePosition): Duration {
  c.expectSymbol('(');
  const unitToken = c.current();
  const unit = unitToken.kind === 'word' ? timeUnitOf(unitToken.text) : undefined;
  if (!unit) c.fail(`a time unit (${timeUnitNames()})`);
  c.advance();
  c.expectSymbol(',');
  const amount = c.current();
  if (amount.kind !== 'number' || !(Number(amount.text) > 0)) c.fail('a positive number');
  c.advance();
  c.expectSymbol(')');
  return { unit, amount: Number(amount.text), position };
}

function skipClause(c: ClauseCursor): AfterMatchSkip {
  c.expectWord('match');
  c.expectWord('skip');
  const t = c.current();
  if (c.acceptWord('past')) {
    c.expectWord('last');
    c.expectWord('row');
    return 'pastLastRow';
  }
  c.expectWord('to');
  if (c.acceptWord('next')) {
    c.expectWord('row');
    return 'toNextRow';
  }
  if (c.isWord('first') || c.isWord('last') || c.current().kind === 'word' || c.current().kind === 'quoted') {
    throw new QueryError('UNSUPPORTED', 'AFTER MATCH SKIP TO a pattern variable is not supported; use TO NEXT ROW or PAST LAST ROW', t.position);
  }
  return c.fail('NEXT ROW');
}

// --- PATTERN: alternation of sequences of quantified atoms ---------------------------------------

function alternation(c: ClauseCursor): PatternNode {
  const position = c.current().position;
  const options = [sequence(c)];
  while (c.acceptSymbol('|')) options.push(sequence(c));
  return options.length === 1 ? options[0]! : { kind: 'alternation', options, position };
}

function sequence(c: ClauseCursor): PatternNode {
  const position = c.current().position;
  const items: PatternNode[] = [];
  if (c.isSymbol('.')) throw new QueryError('UNSUPPORTED', 'the . pattern name is not supported; define a variable that any event meets (Any AS 1 = 1)', c.current().position);
  while (c.current().kind === 'word' || c.current().kind === 'quoted' || c.isSymbol('(')) items.push(quantified(c));
  if (items.length === 0) c.fail('a pattern variable or (');
  return items.length === 1 ? items[0]! : { kind: 'sequence', items, position };
}

function quantified(c: ClauseCursor): PatternNode {
  const position = c.current().position;
  let item: PatternNode;
  if (c.acceptSymbol('(')) {
    item = alternation(c);
    c.expectSymbol(')');
  } else {
    const name = c.identifier('a pattern variable');
    item = { kind: 'variable', name, position: name.position };
  }
  const q = c.current();
  let min: number, max: number;
  if (c.acceptSymbol('*')) { min = 0; max = Infinity; }
  else if (c.acceptSymbol('+')) { min = 1; max = Infinity; }
  else if (c.acceptSymbol('?')) { min = 0; max = 1; }
  else if (c.acceptSymbol('{')) ({ min, max } = bounds(c, q.position));
  else return item;
  const greedy = !c.acceptSymbol('?');
  return { kind: 'repeat', item, min, max, greedy, position };
}

/** `{n}`, `{n,}`, `{,m}`, `{n,m}` after the `{`. */
function bounds(c: ClauseCursor, position: SourcePosition): { min: number; max: number } {
  const count = (): number | null => {
    const t = c.current();
    if (t.kind !== 'number') return null;
    const n = Number(t.text);
    if (!Number.isInteger(n) || n < 0) c.fail('a whole number');
    if (n > maxRepeatBound) throw new QueryError('INVALID_ARGUMENT', `a repetition bound is at most ${maxRepeatBound}`, t.position);
    c.advance();
    return n;
  };
  const low = count();
  let min: number, max: number;
  if (c.acceptSymbol(',')) {
    const high = count();
    min = low ?? 0;
    max = high ?? Infinity;
    if (low === null && high === null) c.fail('a number in {n,m}');
  } else {
    if (low === null) c.fail('a number in {n}');
    min = max = low;
  }
  c.expectSymbol('}');
  if (max < min) throw new QueryError('INVALID_ARGUMENT', `{${min},${max}}: the upper bound is below the lower bound`, position);
  if (max === 0) throw new QueryError('INVALID_ARGUMENT', 'a repetition of at most 0 times matches nothing', position);
  return { min, max };
}

/** The pattern variables named in PATTERN, each once, in order of first use. */
export function patternVariables(node: PatternNode): Identifier[] {
  const out: Identifier[] = [];
  const walk = (n: PatternNode): void => {
    switch (n.kind) {
      case 'variable':
        if (!out.some((v) => v.name.toLowerCase() === n.name.name.toLowerCase())) out.push(n.name);
        return;
      case 'sequence': n.items.forEach(walk); return;
      case 'alternation': n.options.forEach(walk); return;
      case 'repeat': walk(n.item); return;
    }
  };
  walk(node);
  return out;
}
