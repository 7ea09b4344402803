// The logical plan: what each statement reads, joins, computes and writes, after every name
// has been resolved and every rule checked. The physical operators are built from this.
import type { DurationMs } from '../model/time.js';
import type { TypeName } from '../model/values.js';
import type {
  CallExpression, Expression, SelectStatement, SourceReference, WindowSpec,
} from '../syntax/ast.js';
import type { TableFunctionName } from '../functions/scalar-functions.js';
import type { MatchRecognizePlan } from '../match-recognize/match-plan.js';
import type { UserFunctionCatalogue } from '../functions/user-functions.js';
import type { WherePlacement } from './where-placement.js';

export interface QueryPlan {
  /** Stream inputs the query reads, in order of first use. */
  readonly inputs: readonly string[];
  /** Reference inputs the query joins. */
  readonly references: readonly string[];
  /** Outputs written, in order of first use. */
  readonly outputs: readonly string[];
  /** Declared column types per input (CREATE TABLE), by lower-cased input name. */
  readonly tables: ReadonlyMap<string, readonly { name: string; type: TypeName }[]>;
  /** Steps and output statements in dependency order (a step precedes its readers). */
  readonly statements: readonly StatementPlan[];
  /** The JavaScript functions and aggregates the query was compiled with. */
  readonly functions: UserFunctionCatalogue;
}

export type Target = { readonly kind: 'output'; readonly name: string } | { readonly kind: 'step'; readonly name: string };

export interface StatementPlan {
  readonly target: Target;
  /** One SELECT, or several for UNION. */
  readonly selects: readonly SelectPlan[];
  /** Output column names when every SELECT item names one (no wildcard). */
  readonly columns: readonly string[] | null;
}

export type Origin =
  | { readonly kind: 'input'; readonly name: string }
  | { readonly kind: 'reference'; readonly name: string }
  | { readonly kind: 'step'; readonly name: string };

export interface PlannedSource {
  readonly alias: string;
  readonly slot: number;
  readonly origin: Origin;
  readonly reference: SourceReference;
}

export type PlannedClause = ReferenceJoinPlan | StreamJoinPlan | ApplyPlan;

export interface EquiKey {
  /** Evaluated on the frame built so far (the left side). */
  readonly left: Expression;
  /** Evaluated on the joined source's record alone. */
  readonly right: Expression;
  /** The `left = right` condition of ON this key comes from. */
  readonly condition: Expression;
}

export interface ReferenceJoinPlan {
  readonly kind: 'referenceJoin';
  readonly type: 'inner' | 'left';
  readonly source: PlannedSource;
  readonly keys: readonly EquiKey[];
  /** The conditions of ON that the key lookup does not already ensure. */
  readonly residual: Expression | null;
}

export interface StreamJoinPlan {
  readonly kind: 'streamJoin';
  readonly type: 'inner' | 'left';
  readonly source: PlannedSource;
  readonly keys: readonly EquiKey[];
  readonly on: Expression;
  /** right.ts − left.ts lies within [low, high] for any match. */
  readonly bound: { readonly low: DurationMs; readonly high: DurationMs };
}

export interface ApplyPlan {
  readonly kind: 'apply';
  readonly type: 'cross' | 'outer';
  readonly alias: string;
  readonly slot: number;
  readonly fn: TableFunctionName;
  readonly argument: Expression;
}

export interface SelectPlan {
  readonly statement: SelectStatement;
  readonly from: PlannedSource;
  readonly clauses: readonly PlannedClause[];
  /** Every source alias and its slot (FROM, joins, applies). */
  readonly scope: readonly { readonly alias: string; readonly slot: number }[];
  /** WHERE split around the reference joins that end `clauses` (see where-placement.ts). */
  readonly where: WherePlacement;
  readonly analytics: readonly CallExpression[];
  readonly aggregates: readonly CallExpression[];
  readonly window: WindowSpec | null;
  readonly columnNames: readonly (string | null)[];
  /** FROM … MATCH_RECOGNIZE: the statement's FROM slot holds match rows, not events. */
  readonly matchRecognize?: MatchRecognizePlan | null;
}
