// The query as a tree. Every node has a string `kind`; code that walks the tree switches over
// it exhaustively (see `assertNever`, and `children` for expressions), so adding a node kind
// does not compile until every stage handles it.
import { assertNever, type SourcePosition } from '../model/errors.js';
import type { TypeName } from '../model/values.js';
import type { TimeUnit } from '../model/time.js';
import type { MatchRecognizeClause } from './match-recognize-syntax.js';

export interface Located {
  readonly position: SourcePosition;
}

/** One identifier as written: `name`, `[name]` or `"name"`. */
export interface Identifier extends Located {
  readonly name: string;
}

// --- Expressions -----------------------------------------------------------------------------

export type Expression =
  | LiteralExpression
  | ColumnExpression
  | UnaryExpression
  | BinaryExpression
  | BetweenExpression
  | InExpression
  | LikeExpression
  | IsNullExpression
  | CaseExpression
  | CastExpression
  | CallExpression
  | SystemTimestampExpression;

export type ExpressionKind = Expression['kind'];

export interface LiteralExpression extends Located {
  readonly kind: 'literal';
  readonly value: null | number | string | boolean;
}

/** `a.b.c`: a source alias and/or a path into nested records. */
export interface ColumnExpression extends Located {
  readonly kind: 'column';
  readonly path: readonly Identifier[];
}

export type UnaryOperator = 'negate' | 'plus' | 'not' | 'bitwiseNot';

export interface UnaryExpression extends Located {
  readonly kind: 'unary';
  readonly operator: UnaryOperator;
  readonly operand: Expression;
}

export type ArithmeticOperator = '+' | '-' | '*' | '/' | '%' | '&' | '|' | '^';
export type ComparisonOperator = '=' | '<>' | '<' | '<=' | '>' | '>=';
export type LogicalOperator = 'and' | 'or';
export type BinaryOperator = ArithmeticOperator | ComparisonOperator | LogicalOperator;

export interface BinaryExpression extends Located {
  readonly kind: 'binary';
  readonly operator: BinaryOperator;
  readonly left: Expression;
  readonly right: Expression;
}

export interface BetweenExpression extends Located {
  readonly kind: 'between';
  readonly operand: Expression;
  readonly low: Expression;
  readonly high: Expression;
  readonly negated: boolean;
}

export interface InExpression extends Located {
  readonly kind: 'in';
  readonly operand: Expression;
  readonly list: readonly Expression[];
  readonly negated: boolean;
}

export interface LikeExpression extends Located {
  readonly kind: 'like';
  readonly operand: Expression;
  readonly pattern: Expression;
  readonly negated: boolean;
}

export interface IsNullExpression extends Located {
  readonly kind: 'isNull';
  readonly operand: Expression;
  readonly negated: boolean;
}

export interface CaseExpression extends Located {
  readonly kind: 'case';
  /** Set for the simple form `CASE x WHEN v THEN …`. */
  readonly operand: Expression | null;
  readonly branches: readonly { readonly when: Expression; readonly then: Expression }[];
  readonly otherwise: Expression | null;
}

export interface CastExpression extends Located {
  readonly kind: 'cast';
  readonly operand: Expression;
  readonly type: TypeName;
  /** TRY_CAST: NULL instead of an error when the value does not convert. */
  readonly lenient: boolean;
}

/**
 * A function call. Aggregates, analytic functions and windows are calls too; which one a name
 * denotes is decided by the semantic pass, not the parser.
 */
export interface CallExpression extends Located {
  readonly kind: 'call';
  /** Lower-cased; a `udf.` or `system.` prefix is kept (`udf.score`). */
  readonly name: string;
  readonly displayName: string;
  readonly args: readonly CallArgument[];
  readonly distinct: boolean;
  readonly over: OverClause | null;
}

/** `*` is an argument of COUNT(*), TopOne(*) hardly, LAG(*) and LAST(*). */
export type CallArgument = Expression | StarArgument;

export interface StarArgument extends Located {
  readonly kind: 'star';
}

export interface OverClause extends Located {
  readonly partitionBy: readonly Expression[];
  readonly orderBy: readonly OrderItem[];
  readonly limitDuration: Duration | null;
  readonly when: Expression | null;
}

export interface OrderItem {
  readonly expression: Expression;
  readonly descending: boolean;
}

export interface SystemTimestampExpression extends Located {
  readonly kind: 'systemTimestamp';
}

export interface Duration extends Located {
  readonly unit: TimeUnit;
  readonly amount: number;
}

const leaf: readonly Expression[] = [];

/**
 * The expressions directly inside `e`, in the order they are written (a call's arguments, then
 * its OVER clause). Every walk of an expression tree goes through this, so a new node kind
 * fails to compile here, not silently in some walk that skipped it.
 */
export function children(e: Expression): readonly Expression[] {
  switch (e.kind) {
    case 'literal': case 'column': case 'systemTimestamp': return leaf;
    case 'unary': case 'isNull': case 'cast': return [e.operand];
    case 'binary': return [e.left, e.right];
    case 'between': return [e.operand, e.low, e.high];
    case 'in': return [e.operand, ...e.list];
    case 'like': return [e.operand, e.pattern];
    case 'case': {
      const out: Expression[] = e.operand ? [e.operand] : [];
      for (const b of e.branches) out.push(b.when, b.then);
      if (e.otherwise) out.push(e.otherwise);
      return out;
    }
    case 'call': {
      const out: Expression[] = [];
      for (const a of e.args) if (a.kind !== 'star') out.push(a);
      if (e.over) {
        out.push(...e.over.partitionBy, ...e.over.orderBy.map((o) => o.expression));
        if (e.over.when) out.push(e.over.when);
      }
      return out;
    }
    default: return assertNever(e);
  }
}

// --- Statements ------------------------------------------------------------------------------

export interface Query {
  readonly tables: readonly TableDeclaration[];
  readonly steps: readonly Step[];
  readonly statements: readonly Statement[];
}

/** `CREATE TABLE input (column type, …)`: declares the types an input's columns must have. */
export interface TableDeclaration extends Located {
  readonly name: Identifier;
  readonly columns: readonly { readonly name: Identifier; readonly type: TypeName }[];
}

export interface Step extends Located {
  readonly name: Identifier;
  readonly body: Statement;
}

export type Statement = SelectStatement | UnionStatement;

export interface UnionStatement extends Located {
  readonly kind: 'union';
  readonly selects: readonly SelectStatement[];
}

export interface SelectStatement extends Located {
  readonly kind: 'select';
  readonly items: readonly SelectItem[];
  readonly into: Identifier | null;
  readonly from: SourceReference;
  /** FROM … MATCH_RECOGNIZE (…): the statement reads the matches, not the events. */
  readonly matchRecognize?: MatchRecognizeClause | null;
  readonly clauses: readonly FromClause[];
  readonly where: Expression | null;
  readonly groupBy: GroupBy | null;
  readonly having: Expression | null;
}

export type SelectItem = WildcardItem | ExpressionItem;

/** `*`, `alias.*` or `record.path.*`. */
export interface WildcardItem extends Located {
  readonly kind: 'wildcard';
  readonly path: readonly Identifier[];
}

export interface ExpressionItem extends Located {
  readonly kind: 'expression';
  readonly expression: Expression;
  readonly alias: Identifier | null;
}

export interface SourceReference extends Located {
  readonly name: Identifier;
  readonly alias: Identifier;
  readonly timestampBy: Expression | null;
  /** TIMESTAMP BY … OVER keys: one event clock per distinct key tuple. */
  readonly over: readonly Expression[];
}

export type FromClause = JoinClause | ApplyClause;

export interface JoinClause extends Located {
  readonly kind: 'join';
  readonly type: 'inner' | 'left';
  readonly source: SourceReference;
  readonly on: Expression;
}

export interface ApplyClause extends Located {
  readonly kind: 'apply';
  readonly type: 'cross' | 'outer';
  readonly call: CallExpression;
  readonly alias: Identifier;
}

export interface GroupBy extends Located {
  readonly keys: readonly Expression[];
  readonly window: WindowSpec | null;
}

export type WindowSpec = TumblingWindow | HoppingWindow | SlidingWindow | SessionWindow | SnapshotWindow;
export type WindowKind = WindowSpec['kind'];

export interface TumblingWindow extends Located {
  readonly kind: 'tumbling';
  readonly size: Duration;
  readonly offset: number;
}

export interface HoppingWindow extends Located {
  readonly kind: 'hopping';
  readonly size: Duration;
  readonly hop: Duration;
  readonly offset: number;
}

export interface SlidingWindow extends Located {
  readonly kind: 'sliding';
  readonly size: Duration;
}

export interface SessionWindow extends Located {
  readonly kind: 'session';
  readonly timeout: Duration;
  readonly maxDuration: Duration;
  readonly partitionBy: readonly Expression[];
}

/** `GROUP BY …, System.Timestamp()`: events sharing one timestamp. */
export interface SnapshotWindow extends Located {
  readonly kind: 'snapshot';
}
