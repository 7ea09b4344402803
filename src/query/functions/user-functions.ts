// JavaScript user-defined functions (udf.NAME) and aggregates (uda.NAME) as the engine sees them:
// objects handed in by the caller, which owns the sandbox that runs them (src/scripting). The
// engine stays pure: it never evaluates a function's source, only calls what it is given, and a
// call that fails throws a UserFunctionFailure, which the engine reports as an event diagnostic.
import type { EpochMs } from '../model/time.js';
import type { Value } from '../model/values.js';

/** A user function failed on one event (threw, ran past its time limit, returned a function). */
export class UserFunctionFailure extends Error {
  override readonly name = 'UserFunctionFailure';
  constructor(message: string, readonly timedOut = false) {
    super(message);
  }
}

/** A scalar function: one value per call, from the query's values. */
export interface UserDefinedFunction {
  call(args: readonly Value[]): Value;
}

/** One group's aggregate state, living wherever the sandbox keeps it. */
export interface UserAggregateInstance {
  accumulate(value: Value, timestamp: EpochMs): void;
  /** Only called when the aggregate's `deaccumulates` is true. */
  deaccumulate(value: Value, timestamp: EpochMs): void;
  result(): Value;
  /** The state as plain data, for a checkpoint: what `restore` takes back. */
  save(): Value;
}

export interface UserDefinedAggregate {
  /** Whether the aggregate can remove an event (this.deaccumulate): sliding windows then update one state. */
  readonly deaccumulates: boolean;
  /** A new state, initialised (this.init). */
  create(): UserAggregateInstance;
  restore(saved: Value): UserAggregateInstance;
}

/** The functions a query may call, by name without the prefix (any case). */
export interface UserFunctions {
  readonly udf?: Readonly<Record<string, UserDefinedFunction>>;
  readonly uda?: Readonly<Record<string, UserDefinedAggregate>>;
}

/** The catalogue with lower-cased names, as calls name them (`udf.score` → `score`). */
export interface UserFunctionCatalogue {
  readonly udf: ReadonlyMap<string, UserDefinedFunction>;
  readonly uda: ReadonlyMap<string, UserDefinedAggregate>;
  /** The names as given, for error messages. */
  readonly udfNames: readonly string[];
  readonly udaNames: readonly string[];
}

export function userFunctionCatalogue(functions: UserFunctions | undefined): UserFunctionCatalogue {
  const lower = <T>(r: Readonly<Record<string, T>> | undefined) => new Map(Object.entries(r ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    udf: lower(functions?.udf),
    uda: lower(functions?.uda),
    udfNames: Object.keys(functions?.udf ?? {}),
    udaNames: Object.keys(functions?.uda ?? {}),
  };
}

/** The name a `udf.` / `uda.` call looks up: lower case, without the prefix. */
export function userFunctionName(callName: string): string {
  return callName.slice(4);
}
