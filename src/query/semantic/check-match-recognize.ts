// A statement reading FROM … MATCH_RECOGNIZE: the clause planned, its expressions checked like any
// other once rewritten (functions, arguments, constants), and what the rest of the statement sees:
// one source, named by the clause's alias, whose columns are the partition columns and measures.
import type { Expression, SelectStatement } from '../syntax/ast.js';
import { anyAlias, eventAlias, navigationAlias, variableAlias, type MatchExpression } from '../match-recognize/match-expressions.js';
import { planMatchRecognize, type MatchRecognizePlan } from '../match-recognize/match-plan.js';
import type { Place } from './expression-checker.js';
import { outputName } from './column-names.js';

/** The statement's expression checker, over another scope. */
export type CheckerFor = (
  scope: readonly { alias: string; slot: number }[],
  knownColumns: ReadonlyMap<number, ReadonlySet<string>>,
) => { check(e: Expression, place: Place): void };

/**
 * Plans the clause of `s` read from the source aliased `sourceAlias`, whose known columns (a
 * step's) are `inputColumns`.
 */
export function checkMatchRecognize(s: SelectStatement, sourceAlias: string, inputColumns: ReadonlySet<string> | undefined, checkerFor: CheckerFor): MatchRecognizePlan {
  const plan = planMatchRecognize(s.matchRecognize!, sourceAlias);
  const input = new Map<number, ReadonlySet<string>>(inputColumns ? [[0, inputColumns]] : []);
  const onInput = checkerFor([{ alias: sourceAlias, slot: 0 }], input);
  if (s.from.timestampBy) onInput.check(s.from.timestampBy, 'timestamp');
  for (const k of s.from.over) onInput.check(k, 'timestamp');
  for (const p of plan.partitionBy) onInput.check(p, 'scalar');

  const width = plan.variables.length;
  const matchScope = [{ alias: navigationAlias, slot: 0 }, ...plan.variables.map((_, i) => ({ alias: variableAlias(i), slot: i + 1 })), { alias: anyAlias, slot: width + 1 }];
  const knownVariables = new Map<number, ReadonlySet<string>>();
  if (inputColumns) for (let i = 1; i <= width + 1; i++) knownVariables.set(i, inputColumns);
  const check = (m: MatchExpression): void => {
    checkerFor(matchScope, knownVariables).check(m.expression, 'scalar');
    for (const n of m.navigations) if (n.argument) checkerFor([{ alias: eventAlias, slot: 0 }], input).check(n.argument, 'scalar');
  };
  plan.defines.forEach(check);
  for (const m of plan.measures) check(m.expression);
  return plan;
}

/** The columns of a match row. */
export function matchColumns(plan: MatchRecognizePlan): string[] {
  return [...plan.partitionNames, ...plan.measures.map((m) => m.name)];
}

/** A SELECT's column names over matches: a wildcard is every column of the match row. */
export function matchColumnNames(s: SelectStatement, plan: MatchRecognizePlan): (string | null)[] {
  return s.items.flatMap((item, i): (string | null)[] => {
    if (item.kind === 'wildcard') return item.path.length <= 1 && s.clauses.length === 0 ? matchColumns(plan) : [null];
    return [outputName(item.expression, item.alias, i)];
  });
}
