// Compiles an expression tree once into a closure over a Frame, so no tree is walked per event.
// Constant subtrees are evaluated once, when compiled. The expressions compiled here have passed
// semantic analysis, which evaluated the same constants (evaluateConstant) and checked every
// argument, so a static fault found here is the engine's bug (InternalError), not the query's.
import { assertNever, InternalError, QueryError, type EventDiagnosticCode, type SourcePosition } from '../model/errors.js';
import { markFieldRead, type Evaluator, type Frame } from '../dataflow/frame.js';
import { isTimeUnit, unitMs, type DatePart } from '../model/time.js';
import { compareValues, DateTime, getField, isTrue, metadataOf, typeOf, type Value } from '../model/values.js';
import { children, type CallExpression, type Expression, type Located } from '../syntax/ast.js';
import { scalarFunctions, matchesLike, likeTest } from '../functions/scalar-functions.js';
import { castValue, ConversionFailure, toNumber, toText } from '../model/conversions.js';
import { callKind, datePartArgument, datePartOfCall } from './call-kinds.js';
import { canonicalText } from '../syntax/canonical.js';
import { UserFunctionFailure, userFunctionName, type UserFunctionCatalogue } from '../functions/user-functions.js';

/** A source visible to expressions: its alias (lower case) and the frame slot holding its record. */
export interface ScopeSource {
  readonly alias: string;
  readonly slot: number;
}

export interface Scope {
  readonly sources: readonly ScopeSource[];
  /** Slots of aggregate results, when compiling a grouped SELECT or HAVING. */
  readonly aggregates: ReadonlyMap<CallExpression, number> | null;
  /** Slots of analytic results (LAG, LAST, ISFIRST, OVER aggregates). */
  readonly analytics: ReadonlyMap<CallExpression, number> | null;
  /** SELECT aliases, visible in HAVING. */
  readonly aliases: ReadonlyMap<string, Expression> | null;
  /**
   * In a grouped SELECT or HAVING: the GROUP BY expressions, whose values sit in the aggregate
   * slots from `offset` on. An expression equal to one of them reads that slot.
   */
  readonly groupKeys?: { readonly expressions: readonly Expression[]; readonly offset: number };
}

export type Reporter = (code: EventDiagnosticCode, message: string, position: SourcePosition) => void;

export interface CompileOptions {
  readonly scope: Scope;
  readonly report: Reporter;
  /** The JavaScript functions udf.NAME calls reach. */
  readonly functions?: UserFunctionCatalogue;
}

const noFrame: Frame = { ts: 0, slots: [], slotTimes: null, analytics: null, aggregates: null, substream: '' };

/** A constant reads no source, aggregate, analytic result or alias. */
const constantScope: Scope = { sources: [], aggregates: null, analytics: null, aliases: null };

/**
 * The value of a constant expression (see isConstant). One that cannot be evaluated
 * (CAST('x' AS bigint), 1/0) is a query error at the position of the failing part.
 */
export function evaluateConstant(e: Expression): Value {
  return fold(e, constantFault);
}

const constantFault: Reporter = (_code, message, position) => {
  throw new QueryError('CONSTANT_TYPE_ERROR', message, position);
};

/** Semantic analysis evaluated every constant the compiler folds: none can fail here. */
const checkedConstant: Reporter = (_code, message, position) => {
  throw new InternalError(`the constant at ${position.line}:${position.column} fails (${message}) but passed semantic analysis`);
};

/**
 * Evaluates a constant with `report` for its faults. Each constant part is folded on its own
 * too, even one the whole would not evaluate (the ELSE of CASE WHEN 1 = 1): a fault anywhere in
 * a constant is one.
 */
function fold(e: Expression, report: Reporter): Value {
  return new ExpressionCompiler({ scope: constantScope, report }, report).valueOf(e);
}

/** A fault semantic analysis rejects, met by the compiler. */
function unchecked(what: string, at: Located): never {
  throw new InternalError(`${what} at ${at.position.line}:${at.position.column} passed semantic analysis`);
}

export function compileExpression(e: Expression, options: CompileOptions): Evaluator {
  return new ExpressionCompiler(options).compile(e);
}

/** A predicate: only TRUE passes. */
export function compilePredicate(e: Expression, options: CompileOptions): (frame: Frame) => boolean {
  const ev = compileExpression(e, options);
  return (f) => isTrue(ev(f));
}

/** Whether `e` reads nothing of an event: then it is evaluated once, when compiled. */
export function isConstant(e: Expression): boolean {
  switch (e.kind) {
    case 'literal': return true;
    case 'column': case 'systemTimestamp': return false;
    case 'call': {
      if (callKind(e) !== 'scalar' || e.args.some((a) => a.kind === 'star')) return false;
      const part = datePartArgument(e);
      return children(e).every((c) => c === part || isConstant(c));
    }
    default: return children(e).every(isConstant);
  }
}

class ExpressionCompiler {
  private readonly scope: Scope;
  private readonly report: Reporter;
  private readonly functions: UserFunctionCatalogue | undefined;
  private readonly expanding = new Set<string>();
  private readonly groupKeyTexts: readonly string[];

  /** `foldReport`: where faults of the constants folded go. */
  constructor(options: CompileOptions, private readonly foldReport: Reporter = checkedConstant) {
    this.scope = options.scope;
    this.report = options.report;
    this.functions = options.functions;
    this.groupKeyTexts = options.scope.groupKeys?.expressions.map(canonicalText) ?? [];
  }

  compile(e: Expression): Evaluator {
    if (this.groupKeyTexts.length > 0 && e.kind !== 'literal') {
      const k = this.groupKeyTexts.indexOf(canonicalText(e));
      if (k >= 0) {
        const slot = this.scope.groupKeys!.offset + k;
        return (f) => f.aggregates![slot] ?? null;
      }
    }
    if (e.kind !== 'literal' && isConstant(e)) {
      const folded = fold(e, this.foldReport);
      return () => folded;
    }
    return this.compileNode(e);
  }

  /** The value of a constant, evaluated now. */
  valueOf(e: Expression): Value {
    return this.compileNode(e)(noFrame);
  }

  private compileNode(e: Expression): Evaluator {
    switch (e.kind) {
      case 'literal': {
        const v = e.value;
        return () => v;
      }
      case 'column': return this.column(e);
      case 'systemTimestamp': {
        // The rows of one window share their timestamp, and a DateTime is immutable: one will do.
        let last = new DateTime(NaN);
        return (f) => (last.ms === f.ts ? last : (last = new DateTime(f.ts)));
      }
      case 'unary': return this.unary(e);
      case 'binary': return this.binary(e);
      case 'between': {
        const x = this.compile(e.operand), lo = this.compile(e.low), hi = this.compile(e.high);
        const negated = e.negated;
        return (f) => {
          const v = x(f);
          const a = compareValues(v, lo(f)), b = compareValues(v, hi(f));
          if (a === null || b === null) return null;
          return (a >= 0 && b <= 0) !== negated;
        };
      }
      case 'in': {
        const x = this.compile(e.operand);
        const list = e.list.map((i) => this.compile(i));
        const negated = e.negated;
        return (f) => {
          const v = x(f);
          if (v === null) return null;
          let unknown = false;
          for (const item of list) {
            const c = compareValues(v, item(f));
            if (c === 0) return !negated;
            if (c === null) unknown = true;
          }
          return unknown ? null : negated;
        };
      }
      case 'like': {
        const x = this.compile(e.operand);
        const negated = e.negated;
        if (e.pattern.kind === 'literal' && typeof e.pattern.value === 'string') {
          const test = likeTest(e.pattern.value);
          return (f) => {
            const s = toText(x(f));
            return s === null ? null : test(s) !== negated;
          };
        }
        const p = this.compile(e.pattern);
        return (f) => {
          const s = toText(x(f)), pattern = toText(p(f));
          return s === null || pattern === null ? null : matchesLike(s, pattern) !== negated;
        };
      }
      case 'isNull': {
        const x = this.compile(e.operand);
        return e.negated ? (f) => x(f) !== null : (f) => x(f) === null;
      }
      case 'case': return this.caseExpression(e);
      case 'cast': {
        const x = this.compile(e.operand);
        const { type, lenient, position } = e;
        const report = this.report;
        return (f) => {
          const r = castValue(x(f), type);
          if (!(r instanceof ConversionFailure)) return r;
          if (!lenient) report('CONVERSION_FAILED', r.message, position);
          return null;
        };
      }
      case 'call': return this.call(e);
      default: return assertNever(e);
    }
  }

  // --- columns ---------------------------------------------------------------------------------

  private column(e: Extract<Expression, { kind: 'column' }>): Evaluator {
    const names = e.path.map((p) => p.name);
    const first = names[0]!.toLowerCase();
    if (names.length === 1 && this.scope.aliases?.has(first) && !this.expanding.has(first)) {
      this.expanding.add(first);
      try {
        return this.compile(this.scope.aliases.get(first)!);
      } finally {
        this.expanding.delete(first);
      }
    }
    const source = this.scope.sources.find((s) => s.alias === first);
    if (source) return pathFrom(source.slot, names.slice(1));
    if (this.scope.sources.length === 1) return pathFrom(this.scope.sources[0]!.slot, names);
    // Unqualified in a statement with several sources: the first source that has the field.
    const slots = this.scope.sources.map((s) => s.slot);
    const name = names[0]!, lower = first, rest = names.slice(1);
    const tail = rest.length > 0 ? pathOn(rest) : null;
    return (f) => {
      for (const slot of slots) {
        const rec = f.slots[slot];
        if (rec === null || rec === undefined) continue;
        const v = getField(rec, name, lower);
        if (v !== null) return tail ? tail(v) : v;
      }
      return null;
    };
  }

  // --- operators -------------------------------------------------------------------------------

  private unary(e: Extract<Expression, { kind: 'unary' }>): Evaluator {
    const x = this.compile(e.operand);
    const report = this.report, position = e.position;
    switch (e.operator) {
      case 'not': return (f) => { const v = x(f); return v === null ? null : !isTrue(v); };
      case 'plus': return x;
      case 'negate': return (f) => {
        const v = x(f);
        if (v === null) return null;
        const n = toNumber(v);
        if (n === null) { report('CONVERSION_FAILED', `cannot negate ${typeOf(v)}`, position); return null; }
        return -n;
      };
      case 'bitwiseNot': return (f) => {
        const v = x(f);
        const n = toNumber(v);
        return n === null ? null : typeof v === 'boolean' ? n === 0 : ~n;
      };
      default: return assertNever(e.operator);
    }
  }

  private binary(e: Extract<Expression, { kind: 'binary' }>): Evaluator {
    const l = this.compile(e.left), r = this.compile(e.right);
    const report = this.report, position = e.position;
    const numeric = (op: (a: number, b: number) => number, name: string): Evaluator => (f) => {
      const a = l(f), b = r(f);
      if (typeof a === 'number' && typeof b === 'number') return op(a, b);
      if (a === null || b === null) return null;
      const x = toNumber(a), y = toNumber(b);
      if (x === null || y === null) {
        report('CONVERSION_FAILED', `operator ${name} cannot combine ${typeOf(a)} and ${typeOf(b)}`, position);
        return null;
      }
      return op(x, y);
    };
    switch (e.operator) {
      case 'and': return (f) => {
        const a = l(f);
        if (a !== null && !isTrue(a)) return false;
        const b = r(f);
        if (b !== null && !isTrue(b)) return false;
        return a === null || b === null ? null : true;
      };
      case 'or': return (f) => {
        const a = l(f);
        if (a !== null && isTrue(a)) return true;
        const b = r(f);
        if (b !== null && isTrue(b)) return true;
        return a === null || b === null ? null : false;
      };
      case '=': return (f) => {
        const a = l(f), b = r(f);
        if (typeof a === typeof b && (typeof a === 'string' || typeof a === 'number')) return a === b;
        const c = compareValues(a, b);
        return c === null ? null : c === 0;
      };
      case '<>': return (f) => {
        const a = l(f), b = r(f);
        if (typeof a === typeof b && (typeof a === 'string' || typeof a === 'number')) return a !== b;
        const c = compareValues(a, b);
        return c === null ? null : c !== 0;
      };
      case '<': return comparison(l, r, (c) => c < 0);
      case '<=': return comparison(l, r, (c) => c <= 0);
      case '>': return comparison(l, r, (c) => c > 0);
      case '>=': return comparison(l, r, (c) => c >= 0);
      case '+': return (f) => {
        const a = l(f), b = r(f);
        if (typeof a === 'number' && typeof b === 'number') return a + b;
        if (typeof a === 'string' && typeof b === 'string') return a + b;
        if (a === null || b === null) return null;
        const x = toNumber(a), y = toNumber(b);
        if (x === null || y === null) {
          report('CONVERSION_FAILED', `operator + cannot combine ${typeOf(a)} and ${typeOf(b)}`, position);
          return null;
        }
        return x + y;
      };
      case '-': return numeric((a, b) => a - b, '-');
      case '*': return numeric((a, b) => a * b, '*');
      case '/': case '%': {
        const divide = e.operator === '/';
        return (f) => {
          const a = l(f), b = r(f);
          if (a === null || b === null) return null;
          const x = toNumber(a), y = toNumber(b);
          if (x === null || y === null) {
            report('CONVERSION_FAILED', `operator ${e.operator} cannot combine ${typeOf(a)} and ${typeOf(b)}`, position);
            return null;
          }
          if (y === 0) { report('DIVISION_BY_ZERO', 'division by zero', position); return null; }
          return divide ? x / y : x % y;
        };
      }
      case '&': return bitwise(l, r, (a, b) => a & b);
      case '|': return bitwise(l, r, (a, b) => a | b);
      case '^': return bitwise(l, r, (a, b) => a ^ b);
      default: return assertNever(e.operator);
    }
  }

  private caseExpression(e: Extract<Expression, { kind: 'case' }>): Evaluator {
    const operand = e.operand ? this.compile(e.operand) : null;
    const branches = e.branches.map((b) => ({ when: this.compile(b.when), then: this.compile(b.then) }));
    const otherwise = e.otherwise ? this.compile(e.otherwise) : () => null;
    if (operand) {
      return (f) => {
        const v = operand(f);
        for (const b of branches) if (compareValues(v, b.when(f)) === 0) return b.then(f);
        return otherwise(f);
      };
    }
    return (f) => {
      for (const b of branches) if (isTrue(b.when(f))) return b.then(f);
      return otherwise(f);
    };
  }

  // --- calls -----------------------------------------------------------------------------------

  private call(e: CallExpression): Evaluator {
    const kind = callKind(e);
    switch (kind) {
      case 'aggregate': {
        const slot = this.scope.aggregates?.get(e) ?? unchecked(`aggregate ${e.displayName} without a slot`, e);
        return (f) => f.aggregates![slot] ?? null;
      }
      case 'analytic': {
        const slot = this.scope.analytics?.get(e) ?? unchecked(`analytic function ${e.displayName} without a slot`, e);
        return (f) => f.analytics![slot] ?? null;
      }
      case 'user': return this.userFunction(e);
      case 'window': case 'table': case 'unknown':
        return unchecked(`${e.displayName} (${kind}) outside its place`, e);
      case 'metadata': return this.metadata(e);
      case 'scalar': return this.scalar(e);
      default: return assertNever(kind);
    }
  }

  private scalar(e: CallExpression): Evaluator {
    const fn = scalarFunctions[e.name]!;
    let part: DatePart | undefined;
    if (fn.datePartFirst) {
      part = datePartOfCall(e) ?? unchecked(`the date part of ${e.displayName}`, e);
      if (e.name === 'datediff') {
        const joinForm = this.datediffBetweenSources(e, part);
        if (joinForm) return joinForm;
      }
    }
    const compiled = e.args.map((a, i): Evaluator => {
      if (a.kind === 'star') return unchecked(`* in ${e.displayName}`, a);
      return fn.datePartFirst && i === 0 ? () => null : this.compile(a);
    });
    const report = this.report, position = e.position, call = fn.call;
    const done = (r: Value | ConversionFailure): Value => {
      if (r instanceof ConversionFailure) { report('CONVERSION_FAILED', `${e.displayName}: ${r.message}`, position); return null; }
      return r;
    };
    switch (compiled.length) {
      case 1: { const [a] = compiled as [Evaluator]; return (f) => done(call([a(f)], part)); }
      case 2: { const [a, b] = compiled as [Evaluator, Evaluator]; return (f) => done(call([a(f), b(f)], part)); }
      case 3: { const [a, b, c] = compiled as [Evaluator, Evaluator, Evaluator]; return (f) => done(call([a(f), b(f), c(f)], part)); }
      default: return (f) => done(call(compiled.map((a) => a(f)), part));
    }
  }

  /** udf.NAME(…): a failure (a throw, the time limit, a function returned) is NULL plus a diagnostic. */
  private userFunction(e: CallExpression): Evaluator {
    const udf = this.functions?.udf.get(userFunctionName(e.name)) ?? unchecked(`unknown function ${e.displayName}`, e);
    const args = e.args.map((a): Evaluator => (a.kind === 'star' ? unchecked(`* in ${e.displayName}`, a) : this.compile(a)));
    const report = this.report, position = e.position, name = e.displayName;
    const call = (values: readonly Value[]): Value => {
      try {
        return udf.call(values);
      } catch (x) {
        if (!(x instanceof UserFunctionFailure)) throw x;
        report(x.timedOut ? 'USER_FUNCTION_TIMED_OUT' : 'USER_FUNCTION_FAILED', `${name}: ${x.message}`, position);
        return null;
      }
    };
    switch (args.length) {
      case 0: return () => call([]);
      case 1: { const [a] = args as [Evaluator]; return (f) => call([a(f)]); }
      case 2: { const [a, b] = args as [Evaluator, Evaluator]; return (f) => call([a(f), b(f)]); }
      default: return (f) => call(args.map((a) => a(f)));
    }
  }

  /**
   * DATEDIFF(unit, alias1, alias2) in a JOIN: the time between the two sources' events, in
   * (fractional) units, so `BETWEEN 0 AND 15` means 0 ≤ t2 − t1 ≤ 15 units exactly.
   */
  private datediffBetweenSources(e: CallExpression, part: DatePart): Evaluator | null {
    const [, a, b] = e.args;
    const slotOf = (x: typeof a) => (x && x.kind === 'column' && x.path.length === 1 ? this.scope.sources.find((s) => s.alias === x.path[0]!.name.toLowerCase())?.slot : undefined);
    const sa = slotOf(a), sb = slotOf(b);
    if (sa === undefined || sb === undefined) return null;
    const unit = isTimeUnit(part) ? unitMs(part) : unchecked(`DATEDIFF between sources in ${part}s`, e);
    return (f) => (f.slotTimes ? (f.slotTimes[sb]! - f.slotTimes[sa]!) / unit : null);
  }

  /** GetMetadataPropertyValue(alias, 'Property'): the event's own field of that name. */
  private metadata(e: CallExpression): Evaluator {
    const [source, property] = e.args;
    if (source?.kind !== 'column' || property?.kind !== 'literal' || typeof property.value !== 'string') {
      return unchecked('the arguments of GetMetadataPropertyValue', e);
    }
    const slot = this.scope.sources.find((s) => s.alias === source.path[0]!.name.toLowerCase())?.slot ?? 0;
    // '[EventHub].[EventEnqueuedUtcTime]' and 'IoTHub.ConnectionDeviceId' name fields of the event.
    const segments = property.value.split('.').map((s) => s.replace(/^\[|\]$/g, ''));
    // The event's metadata first ('Tenant', '[User].[channel]'), then its fields.
    const inMetadata = pathOn(segments);
    const full = pathFrom(slot, segments);
    const last = pathFrom(slot, segments.slice(-1));
    const iotHub = pathFrom(slot, ['IoTHub', ...segments.slice(-1)]);
    return (f) => {
      const meta = metadataOf(f.slots[slot]);
      return (meta === null ? null : inMetadata(meta)) ?? full(f) ?? last(f) ?? iotHub(f);
    };
  }
}

function comparison(l: Evaluator, r: Evaluator, test: (c: number) => boolean): Evaluator {
  return (f) => {
    const a = l(f), b = r(f);
    if (typeof a === 'number' && typeof b === 'number') return test(a < b ? -1 : a > b ? 1 : 0);
    const c = compareValues(a, b);
    return c === null ? null : test(c);
  };
}

function bitwise(l: Evaluator, r: Evaluator, op: (a: number, b: number) => number): Evaluator {
  return (f) => {
    const a = l(f), b = r(f);
    const x = toNumber(a), y = toNumber(b);
    if (x === null || y === null) return null;
    const n = op(x, y);
    return typeof a === 'boolean' && typeof b === 'boolean' ? n !== 0 : n;
  };
}

/** Reads `names` from the record in `slot`; an empty path is the whole record. */
export function pathFrom(slot: number, names: readonly string[]): Evaluator {
  if (names.length === 0) return (f) => f.slots[slot] ?? null;
  const [n0] = names;
  const l0 = n0!.toLowerCase();
  if (names.length === 1) {
    return markFieldRead((f) => {
      const rec = f.slots[slot] ?? null;
      // The usual case, a primitive field spelled as in a plain record (a JSON object), read without
      // a call: on such a record a primitive is always the record's own (see getField).
      if (rec !== null && Object.getPrototypeOf(rec) === Object.prototype) {
        const v = (rec as Record<string, unknown>)[n0!];
        if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
      }
      return getField(rec, n0!, l0);
    }, { slot, name: n0! });
  }
  const tail = pathOn(names.slice(1));
  return (f) => {
    const v = getField(f.slots[slot] ?? null, n0!, l0);
    return v === null ? null : tail(v);
  };
}

function pathOn(names: readonly string[]): (v: Value) => Value {
  const lowers = names.map((n) => n.toLowerCase());
  return (v) => {
    let cur: Value = v;
    for (let i = 0; i < names.length && cur !== null; i++) cur = getField(cur, names[i]!, lowers[i]!);
    return cur;
  };
}
