// Function files (their source text, read by the caller) into the UserFunctions a query compiles
// with: each file in its own sandbox, checked once here — a file that does not parse, a UDF file
// that does not hold exactly one function, a UDA without function main() or without the methods
// the engine calls — so a broken file stops the run or job at start, with file, line and column.
import type { UserAggregateInstance, UserDefinedAggregate, UserDefinedFunction, UserFunctions, Value } from '../query/index.js';
import { UserFunctionFailure } from '../query/index.js';
import { FunctionFileError, JavaScriptSandbox } from './javascript-sandbox.js';

export type FunctionKind = 'udf' | 'uda';

export interface FunctionFile {
  /** What the query calls: udf.NAME or uda.NAME (any case). */
  readonly name: string;
  readonly kind: FunctionKind;
  /** For messages: the path as the user gave it. */
  readonly file: string;
  readonly source: string;
}

export interface LoadOptions {
  /** Per call; default defaultTimeLimitMs. */
  readonly timeLimitMs?: number;
}

/** Long enough for any per-event computation; short enough that a stuck function barely delays a job. */
export const defaultTimeLimitMs = 100;

const namePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function loadUserFunctions(files: readonly FunctionFile[], options: LoadOptions = {}): UserFunctions {
  const timeLimitMs = options.timeLimitMs ?? defaultTimeLimitMs;
  const udf: Record<string, UserDefinedFunction> = {};
  const uda: Record<string, UserDefinedAggregate> = {};
  const seen = new Set<string>();
  for (const f of files) {
    if (!namePattern.test(f.name)) throw new FunctionFileError(f.file, { line: 1, column: 1 }, `'${f.name}' cannot name a function: use letters, digits and _`);
    const key = `${f.kind}.${f.name.toLowerCase()}`;
    if (seen.has(key)) throw new FunctionFileError(f.file, { line: 1, column: 1 }, `${f.kind}.${f.name} is given twice`);
    seen.add(key);
    const sandbox = new JavaScriptSandbox(f.file, f.source, { timeLimitMs });
    if (f.kind === 'udf') udf[f.name] = loadFunction(sandbox);
    else uda[f.name] = loadAggregate(sandbox);
  }
  return { udf, uda };
}

function loadFunction(sandbox: JavaScriptSandbox): UserDefinedFunction {
  const declared = sandbox.source.functions;
  if (declared.length === 0) throw new FunctionFileError(sandbox.file, { line: 1, column: 1 }, 'a UDF file holds one JavaScript function, and this one declares none');
  if (declared.length > 1) {
    const [first, second] = declared as [typeof declared[0], typeof declared[0]];
    throw new FunctionFileError(sandbox.file, second.place, `a UDF file holds one JavaScript function: ${second.name} is a second one, after ${first.name} (line ${first.place.line})`);
  }
  atLoad(sandbox, declared[0]!.place, () => sandbox.select(declared[0]!.name));
  return { call: (args) => sandbox.call(args) };
}

function loadAggregate(sandbox: JavaScriptSandbox): UserDefinedAggregate {
  const main = sandbox.source.functions.find((d) => d.name === 'main');
  if (!main) throw new FunctionFileError(sandbox.file, { line: 1, column: 1 }, 'a UDA file needs function main() setting this.init, this.accumulate and this.computeResult');
  atLoad(sandbox, main.place, () => sandbox.select('main'));
  const shape = atLoad(sandbox, main.place, () => sandbox.aggregateShape());
  const missing = ['accumulate', 'computeResult'].filter((m) => !shape.includes(m));
  if (missing.length > 0) {
    throw new FunctionFileError(sandbox.file, main.place, `main() must set ${missing.map((m) => `this.${m}`).join(' and ')} (it sets ${shape.length > 0 ? shape.map((m) => `this.${m}`).join(', ') : 'none of the aggregate methods'})`);
  }
  const instance = (handle: unknown): UserAggregateInstance => ({
    accumulate: (value, timestamp) => sandbox.accumulate(handle, value, timestamp, false),
    deaccumulate: (value, timestamp) => sandbox.accumulate(handle, value, timestamp, true),
    result: () => sandbox.result(handle),
    save: () => sandbox.save(handle),
  });
  return {
    deaccumulates: shape.includes('deaccumulate'),
    create: () => instance(sandbox.create()),
    restore: (saved: Value) => {
      if (typeof saved !== 'string') throw new UserFunctionFailure('the checkpoint holds no state of this aggregate');
      return instance(sandbox.restore(saved));
    },
  };
}

/** Runs a first call at load: its failure is the file's, at `place`. */
function atLoad<T>(sandbox: JavaScriptSandbox, place: { line: number; column: number }, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof UserFunctionFailure) throw new FunctionFileError(sandbox.file, place, e.message);
    throw e;
  }
}

export { FunctionFileError };
