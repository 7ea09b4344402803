// MATCH_RECOGNIZE checked and planned: every variable of PATTERN defined in DEFINE and every
// DEFINE in PATTERN, the pattern compiled, the expressions rewritten for the engine's compiler.
// Semantic analysis calls this and then checks the rewritten expressions like any other.
import { QueryError } from '../model/errors.js';
import { durationOf, type DurationMs } from '../model/time.js';
import type { Expression } from '../syntax/ast.js';
import { patternVariables, type AfterMatchSkip, type MatchRecognizeClause, type PatternNode } from '../syntax/match-recognize-syntax.js';
import { compilePattern, type PatternProgram } from './pattern-program.js';
import { rewriteMatchExpression, type MatchExpression } from './match-expressions.js';

export interface MatchRecognizePlan {
  /** The alias the statement reads matches by (lower case). */
  readonly alias: string;
  readonly variables: readonly string[];
  readonly program: PatternProgram;
  readonly limit: DurationMs;
  readonly skip: AfterMatchSkip;
  /** Evaluated on the input's events, as written. */
  readonly partitionBy: readonly Expression[];
  /** Output columns: the partition columns, then the measures. */
  readonly partitionNames: readonly string[];
  readonly measures: readonly { readonly name: string; readonly expression: MatchExpression }[];
  /** DEFINE by variable index. */
  readonly defines: readonly MatchExpression[];
  /** Whether a DEFINE reads events other than the one under test. */
  readonly historyDependent: boolean;
}

export function planMatchRecognize(clause: MatchRecognizeClause, sourceAlias: string): MatchRecognizePlan {
  const used = patternVariables(clause.pattern);
  const variables = new Map<string, number>();
  used.forEach((v, i) => variables.set(v.name.toLowerCase(), i));

  const defines: (MatchExpression | undefined)[] = new Array(used.length);
  for (const d of clause.define) {
    const v = variables.get(d.variable.name.toLowerCase());
    if (v === undefined) throw new QueryError('UNDEFINED_PATTERN_VARIABLE', `DEFINE names ${d.variable.name}, which PATTERN does not use`, d.variable.position);
    if (defines[v]) throw new QueryError('DUPLICATE_NAME', `${d.variable.name} is defined twice`, d.variable.position);
    defines[v] = rewriteMatchExpression(d.condition, variables);
  }
  const undefinedUse = firstUndefined(clause.pattern, (name) => defines[variables.get(name.toLowerCase())!] !== undefined);
  if (undefinedUse) {
    throw new QueryError('UNDEFINED_PATTERN_VARIABLE', `pattern variable ${undefinedUse.name.name} is not defined; add ${undefinedUse.name.name} AS <condition> to DEFINE`, undefinedUse.position);
  }
  if (!clause.limitDuration) {
    throw new QueryError('MISSING_LIMIT_DURATION', 'MATCH_RECOGNIZE needs LIMIT DURATION (unit, n): how long one match may take', clause.position);
  }

  const partitionNames = clause.partitionBy.map((p) => {
    if (p.kind !== 'column') throw new QueryError('UNSUPPORTED', 'PARTITION BY in MATCH_RECOGNIZE takes columns of the input', p.position);
    return p.path[p.path.length - 1]!.name;
  });
  const names = new Set(partitionNames.map((n) => n.toLowerCase()));
  let navigationCount = 0;
  const measures = clause.measures.map((m) => {
    const key = m.alias.name.toLowerCase();
    if (names.has(key)) throw new QueryError('DUPLICATE_NAME', `the match already has a column ${m.alias.name}`, m.alias.position);
    names.add(key);
    const expression = rewriteMatchExpression(m.expression, variables, navigationCount);
    navigationCount += expression.navigations.length;
    return { name: m.alias.name, expression };
  });

  const complete = defines as MatchExpression[];
  const historyDependent = complete.some((d, i) => d.navigations.length > 0 || [...d.reads].some((r) => r !== i));
  return {
    alias: (clause.alias?.name ?? sourceAlias).toLowerCase(),
    variables: used.map((v) => v.name),
    program: compilePattern(clause.pattern, (name) => variables.get(name.toLowerCase())!),
    limit: durationOf(clause.limitDuration.unit, clause.limitDuration.amount),
    skip: clause.skip,
    partitionBy: clause.partitionBy,
    partitionNames,
    measures,
    defines: complete,
    historyDependent,
  };
}

/** The first use in PATTERN of a variable `defined` rejects, in reading order. */
function firstUndefined(node: PatternNode, defined: (name: string) => boolean): Extract<PatternNode, { kind: 'variable' }> | null {
  switch (node.kind) {
    case 'variable': return defined(node.name.name) ? null : node;
    case 'sequence': for (const i of node.items) { const u = firstUndefined(i, defined); if (u) return u; } return null;
    case 'alternation': for (const o of node.options) { const u = firstUndefined(o, defined); if (u) return u; } return null;
    case 'repeat': return firstUndefined(node.item, defined);
  }
}
