// Semantic analysis: every check that needs no event, and the logical plan. It resolves every
// name (inputs, references, steps, aliases, columns of steps), places aggregates, analytic
// functions and windows, checks every call's arguments, evaluates every constant and finds the
// time bound of stream-to-stream joins. Everything reported here carries the position of the
// fault; a query that passes builds its runners without a QueryError.
import { assertNever, QueryError } from '../model/errors.js';
import type { TypeName } from '../model/values.js';
import { children, type Expression, type Identifier, type Query, type SelectStatement, type SourceReference, type Statement } from '../syntax/ast.js';
import { windowFunctionNames } from '../syntax/window-kinds.js';
import { tableFunctions, type TableFunctionName } from '../functions/scalar-functions.js';
import { userFunctionCatalogue, type UserFunctionCatalogue, type UserFunctions } from '../functions/user-functions.js';
import { checkGrouped } from './check-grouped.js';
import { checkWindow } from './check-window.js';
import { columnNamesOf } from './column-names.js';
import { checkMatchRecognize, matchColumnNames, matchColumns } from './check-match-recognize.js';
import { ExpressionChecker } from './expression-checker.js';
import { conjuncts, equiKeys, joinBound } from './join-conditions.js';
import { placeWhere } from './where-placement.js';
import type {
  ApplyPlan, Origin, PlannedClause, PlannedSource, QueryPlan, SelectPlan, StatementPlan, StreamJoinPlan,
} from './plan.js';

export interface KnownNames {
  /** Stream inputs the job defines; when absent, any name that is not a reference or step is an input. */
  readonly inputs?: readonly string[];
  /** Reference-data inputs the job defines. */
  readonly references?: readonly string[];
  /** Outputs the job defines; when absent, any INTO name is accepted. */
  readonly outputs?: readonly string[];
  /** JavaScript functions and aggregates the query may call as udf.NAME and uda.NAME. */
  readonly functions?: UserFunctions;
}

/** The output a statement without INTO writes to. */
export const defaultOutput = 'output';

const maxJoinSpanMs = 7 * 86_400_000;

export function analyzeQuery(query: Query, known: KnownNames): QueryPlan {
  return new Analyzer(known).analyze(query);
}

interface StepInfo {
  readonly name: string;
  readonly columns: readonly string[] | null;
}

class Analyzer {
  private readonly inputs: Set<string> | null;
  private readonly references: Set<string>;
  private readonly outputs: Set<string> | null;
  private readonly steps = new Map<string, StepInfo>();
  private readonly usedInputs: string[] = [];
  private readonly usedReferences: string[] = [];
  private readonly usedOutputs: string[] = [];
  private readonly functions: UserFunctionCatalogue;

  constructor(known: KnownNames) {
    this.inputs = known.inputs ? new Set(known.inputs.map((n) => n.toLowerCase())) : null;
    this.references = new Set((known.references ?? []).map((n) => n.toLowerCase()));
    this.outputs = known.outputs ? new Set(known.outputs.map((n) => n.toLowerCase())) : null;
    this.functions = userFunctionCatalogue(known.functions);
  }

  analyze(query: Query): QueryPlan {
    const tables = new Map<string, { name: string; type: TypeName }[]>();
    for (const t of query.tables) {
      tables.set(t.name.name.toLowerCase(), t.columns.map((c) => ({ name: c.name.name, type: c.type })));
    }
    const statements: StatementPlan[] = [];
    for (const step of query.steps) {
      const key = step.name.name.toLowerCase();
      if (this.steps.has(key)) throw new QueryError('DUPLICATE_NAME', `step ${step.name.name} is defined twice`, step.name.position);
      if (this.references.has(key) || this.inputs?.has(key)) {
        throw new QueryError('DUPLICATE_NAME', `step ${step.name.name} has the name of an input`, step.name.position);
      }
      for (const s of selectsOf(step.body)) {
        if (s.into) throw new QueryError('SYNTAX_ERROR', 'INTO is not allowed inside a WITH step', s.into.position);
      }
      const plan = this.statement(step.body, { kind: 'step', name: step.name.name });
      this.steps.set(key, { name: step.name.name, columns: plan.columns });
      statements.push(plan);
    }
    for (const statement of query.statements) {
      const into = selectsOf(statement)[0]!.into;
      const name = into?.name ?? defaultOutput;
      if (into && this.outputs && !this.outputs.has(name.toLowerCase())) {
        throw new QueryError('UNKNOWN_OUTPUT', `unknown output ${name}`, into.position);
      }
      if (!this.usedOutputs.some((o) => o.toLowerCase() === name.toLowerCase())) this.usedOutputs.push(name);
      statements.push(this.statement(statement, { kind: 'output', name }));
    }
    return { inputs: this.usedInputs, references: this.usedReferences, outputs: this.usedOutputs, tables, statements, functions: this.functions };
  }

  private statement(statement: Statement, target: StatementPlan['target']): StatementPlan {
    const selects = selectsOf(statement).map((s) => this.select(s));
    if (statement.kind === 'union') {
      const width = selects[0]!.columnNames.length;
      for (const s of selects) {
        if (s.statement.into && target.kind === 'output' && s.statement.into.name.toLowerCase() !== target.name.toLowerCase()) {
          throw new QueryError('SYNTAX_ERROR', 'every SELECT of a UNION writes to the same output', s.statement.into.position);
        }
        if (s.columnNames.length !== width) {
          throw new QueryError('SYNTAX_ERROR', 'every SELECT of a UNION has the same number of columns', s.statement.position);
        }
      }
    }
    const names = selects[0]!.columnNames;
    const columns = names.every((n) => n !== null) ? (names as string[]) : null;
    return { target, selects, columns };
  }

  // --- one SELECT -------------------------------------------------------------------------------

  private select(s: SelectStatement): SelectPlan {
    const sources: PlannedSource[] = [];
    const scope: { alias: string; slot: number }[] = [];
    const knownColumns = new Map<number, ReadonlySet<string>>();
    const addAlias = (alias: Identifier, slot: number): string => {
      const key = alias.name.toLowerCase();
      if (scope.some((x) => x.alias === key)) throw new QueryError('DUPLICATE_NAME', `alias ${alias.name} is used twice in one statement`, alias.position);
      scope.push({ alias: key, slot });
      return key;
    };

    const from = this.source(s.from, 0, addAlias);
    if (from.origin.kind === 'reference') {
      throw new QueryError('REFERENCE_NOT_ALLOWED', `${s.from.name.name} is reference data; it can only be joined, on the right of JOIN`, s.from.name.position);
    }
    sources.push(from);
    this.noteStepColumns(from, knownColumns);
    // MATCH_RECOGNIZE: what follows FROM reads the match rows, under the clause's alias.
    const matchRecognize = s.matchRecognize ? checkMatchRecognize(s, from.alias, knownColumns.get(0), (sc, known) => new ExpressionChecker(sc, known, this.functions)) : null;
    if (matchRecognize) {
      scope[0] = { alias: matchRecognize.alias, slot: 0 };
      knownColumns.set(0, new Set(matchColumns(matchRecognize).map((c) => c.toLowerCase())));
    }

    const clauses: PlannedClause[] = [];
    s.clauses.forEach((clause, k) => {
      const slot = k + 1;
      switch (clause.kind) {
        case 'join': {
          const source = this.source(clause.source, slot, addAlias);
          sources.push(source);
          this.noteStepColumns(source, knownColumns);
          const keys = equiKeys(clause.on, slot, scope);
          if (source.origin.kind === 'reference') {
            const rest = conjuncts(clause.on).filter((c) => !keys.some((k) => k.condition === c));
            const residual = rest.reduce<Expression | null>((acc, c) => (acc ? { kind: 'binary', operator: 'and', left: acc, right: c, position: c.position } : c), null);
            clauses.push({ kind: 'referenceJoin', type: clause.type, source, keys, residual });
          } else {
            const bound = joinBound(clause.on, scope, slot);
            if (!bound) {
              throw new QueryError('JOIN_WITHOUT_TIME_BOUND', `a JOIN of two streams needs DATEDIFF(unit, ${scope[0]!.alias}, ${source.alias}) BETWEEN low AND high in its ON clause`, clause.position);
            }
            if (bound.high - bound.low > maxJoinSpanMs) {
              throw new QueryError('INVALID_ARGUMENT', 'the DATEDIFF bound of a JOIN spans at most 7 days', clause.on.position);
            }
            clauses.push({ kind: 'streamJoin', type: clause.type, source, keys, on: clause.on, bound } satisfies StreamJoinPlan);
          }
          break;
        }
        case 'apply': {
          const fn = clause.call.name;
          if (!Object.hasOwn(tableFunctions, fn)) {
            throw new QueryError('UNKNOWN_FUNCTION', `CROSS APPLY takes GetArrayElements(…) or GetRecordProperties(…), not ${clause.call.displayName}`, clause.call.position);
          }
          const [argument] = clause.call.args;
          if (clause.call.args.length !== 1 || !argument || argument.kind === 'star') {
            throw new QueryError('WRONG_ARGUMENT_COUNT', `${clause.call.displayName} takes one argument`, clause.call.position);
          }
          const alias = addAlias(clause.alias, slot);
          knownColumns.set(slot, new Set(fn === 'getarrayelements' ? ['arrayindex', 'arrayvalue'] : ['propertyname', 'propertyvalue']));
          clauses.push({ kind: 'apply', type: clause.type, alias, slot, fn: fn as TableFunctionName, argument } satisfies ApplyPlan);
          break;
        }
        default: assertNever(clause);
      }
    });

    // Every expression of the statement, checked against the scope.
    const checker = new ExpressionChecker(scope, knownColumns, this.functions);
    for (const src of sources) {
      if (matchRecognize && src === from) continue; // checked on the events, before matching
      if (src.reference.timestampBy) checker.check(src.reference.timestampBy, 'timestamp');
      for (const k of src.reference.over) checker.check(k, 'timestamp');
    }
    for (const c of s.clauses) {
      if (c.kind === 'join') checker.check(c.on, 'on');
      else checker.check(c.call.args[0] as Expression, 'scalar');
    }
    if (s.where) checker.check(s.where, 'where');
    const grouped = s.groupBy !== null;
    const window = s.groupBy?.window ?? null;
    if (s.groupBy) {
      if (!window) throw new QueryError('MISSING_WINDOW', `GROUP BY needs a window (${windowFunctionNames()}) or System.Timestamp()`, s.groupBy.position);
      for (const k of s.groupBy.keys) checker.check(k, 'groupBy');
      if (window.kind === 'session') for (const k of window.partitionBy) checker.check(k, 'groupBy');
      checkWindow(window);
    }
    const aliases = new Set<string>();
    for (const item of s.items) {
      if (item.kind === 'expression') {
        checker.check(item.expression, grouped ? 'groupedSelect' : 'select');
        if (item.alias) aliases.add(item.alias.name.toLowerCase());
      } else {
        if (grouped) throw new QueryError('COLUMN_NOT_GROUPED', 'a wildcard cannot be used with GROUP BY; name the grouped columns and aggregates', item.position);
        checkWildcard(item.path, scope);
      }
    }
    if (s.having) checker.check(s.having, grouped ? 'groupedSelect' : 'where', aliases);

    if (grouped) {
      const keys = [...(s.groupBy?.keys ?? []), ...(window?.kind === 'session' ? window.partitionBy : [])];
      for (const item of s.items) if (item.kind === 'expression') checkGrouped(item.expression, keys);
      if (s.having) checkGrouped(s.having, keys, aliases);
    }

    return {
      statement: s,
      from,
      clauses,
      scope,
      where: placeWhere(s.where, from.slot, clauses, scope),
      analytics: checker.analytics,
      aggregates: checker.aggregates,
      window,
      columnNames: matchRecognize ? matchColumnNames(s, matchRecognize) : columnNamesOf(s, this.steps, from),
      matchRecognize,
    };
  }

  private source(ref: SourceReference, slot: number, addAlias: (alias: Identifier, slot: number) => string): PlannedSource {
    const key = ref.name.name.toLowerCase();
    let origin: Origin;
    const step = this.steps.get(key);
    if (step) origin = { kind: 'step', name: step.name };
    else if (this.references.has(key)) origin = { kind: 'reference', name: ref.name.name };
    else if (!this.inputs || this.inputs.has(key)) origin = { kind: 'input', name: ref.name.name };
    else throw new QueryError('UNKNOWN_INPUT', `unknown input ${ref.name.name}; the query can read ${[...(this.inputs ?? []), ...this.references, ...[...this.steps.values()].map((s) => s.name)].join(', ') || 'nothing'}`, ref.name.position);

    if (ref.timestampBy && origin.kind === 'reference') {
      throw new QueryError('TIMESTAMP_BY_NOT_ALLOWED', 'reference data has no time; TIMESTAMP BY cannot apply to it', ref.timestampBy.position);
    }
    if (ref.timestampBy && containsSystemTimestamp(ref.timestampBy)) {
      throw new QueryError('TIMESTAMP_BY_NOT_ALLOWED', 'System.Timestamp() cannot be used in TIMESTAMP BY', ref.timestampBy.position);
    }
    const used = origin.kind === 'reference' ? this.usedReferences : origin.kind === 'input' ? this.usedInputs : null;
    if (used && !used.some((n) => n.toLowerCase() === key)) used.push(ref.name.name);
    const alias = addAlias(ref.alias, slot);
    return { alias, slot, origin, reference: ref };
  }

  private noteStepColumns(source: PlannedSource, known: Map<number, ReadonlySet<string>>): void {
    if (source.origin.kind !== 'step') return;
    const columns = this.steps.get(source.origin.name.toLowerCase())?.columns;
    if (columns) known.set(source.slot, new Set(columns.map((c) => c.toLowerCase())));
  }
}

function selectsOf(statement: Statement): readonly SelectStatement[] {
  return statement.kind === 'union' ? statement.selects : [statement];
}

/** `alias.*` in a statement with several sources must name one of them. */
function checkWildcard(path: readonly Identifier[], scope: readonly { alias: string }[]): void {
  if (path.length === 0) return;
  const first = path[0]!.name.toLowerCase();
  if (path.length === 1 && !scope.some((s) => s.alias === first) && scope.length > 1) {
    throw new QueryError('UNKNOWN_SOURCE', `${path[0]!.name}.* names no source of the statement`, path[0]!.position);
  }
}

function containsSystemTimestamp(e: Expression): boolean {
  return e.kind === 'systemTimestamp' || children(e).some(containsSystemTimestamp);
}
