// The entry point: query text → a CompiledQuery that creates runners.
import { analyzeQuery, type KnownNames } from './semantic/analyze.js';
import { eventFieldsOf } from './semantic/event-fields.js';
import type { QueryPlan } from './semantic/plan.js';
import { QueryError } from './model/errors.js';
import { parseQuery } from './syntax/parser.js';
import { QueryRunner, type RunnerOptions } from './runtime/query-runner.js';

export type CompileOptions = KnownNames;

export interface CompiledQuery {
  readonly text: string;
  /** Stream inputs read, reference inputs joined, outputs written (in order of first use). */
  readonly inputs: readonly string[];
  readonly references: readonly string[];
  readonly outputs: readonly string[];
  /**
   * The lower-cased names of the top-level event fields the query can read; null when it can see
   * whole events. Events holding only those fields give the same rows (see eventFieldsOf).
   */
  readonly eventFields: ReadonlySet<string> | null;
  createRunner(options: RunnerOptions): QueryRunner;
}

/**
 * Parses, checks and plans a query: parse → analyze → plan, no more. Throws a QueryError (with
 * code, line and column) for any fault that can be found before an event arrives; every such
 * check is in semantic analysis, so createRunner, which builds the operators, throws none.
 */
export function compileQuery(text: string, options: CompileOptions = {}): CompiledQuery {
  let plan: QueryPlan;
  let eventFields: ReadonlySet<string> | null;
  try {
    const ast = parseQuery(text);
    plan = analyzeQuery(ast, options);
    eventFields = eventFieldsOf(ast);
  } catch (err) {
    // The parser and the analyzer recurse over the text's nesting: a query built to be deep (a
    // generated one, an attack on a config) is refused like any other bad query, not a crash.
    if (err instanceof RangeError) throw new QueryError('QUERY_TOO_COMPLEX', 'The query nests expressions or steps too deeply to compile', undefined, { cause: err });
    throw err;
  }
  const fingerprint = fingerprintOf(text);
  return {
    text,
    inputs: plan.inputs,
    references: plan.references,
    outputs: plan.outputs,
    eventFields,
    createRunner: (runnerOptions) => new QueryRunner(plan, fingerprint, runnerOptions),
  };
}

/** FNV-1a of the query text: enough to tell one query's checkpoint from another's. */
function fingerprintOf(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}
