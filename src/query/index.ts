// The streaming SQL engine's public API. Nothing else under src/query is imported from outside.
//
// Folders, highest first. A module imports only from folders below its own (never above, never
// in a circle), so each stage can be read, and tested, without the ones built on it; nothing
// here imports `node:` modules (test/query/import-graph.test.ts holds the code to both):
//   (this folder)  the entry points: compileQuery and the public API
//   runtime/       a plan turned into connected operators, and the runner that feeds them events
//   windows/       the window operators: tumbling, hopping, snapshot, sliding, session
//   operators/     the other physical operators: input sources, joins, apply, analytic, select
//   semantic/      the checks that need no event, and the logical plan they produce
//   match-recognize/ MATCH_RECOGNIZE: its plan, the pattern as an NFA program, the streaming matcher
//   expressions/   expressions compiled once into closures over a frame
//   functions/     the scalar and aggregate function libraries
//   dataflow/      what flows between operators (frames, sinks), their state and ordering policy
//   syntax/        the query text as tokens and as a tree (AST); the window kinds it knows
//   model/         values and types, time units and calendar, the error catalogue
export { compileQuery, type CompiledQuery, type CompileOptions } from './compile-query.js';
export { QueryRunner, type RunnerOptions, type QueryCheckpoint } from './runtime/query-runner.js';
export {
  QueryError, queryErrorCatalogue, type QueryErrorCode, type SourcePosition, type EventDiagnostic, type EventDiagnosticCode,
} from './model/errors.js';
export { defaultEventOrderingPolicy, earlyArrivalLimitMs, type EventOrderingPolicy, type OutOfOrderAction } from './dataflow/event-ordering.js';
export { defaultOutput } from './semantic/analyze.js';
export { DateTime, EVENT_METADATA, formatDateTime, parseDateTime, setField, toJson, type Row, type Value } from './model/values.js';
export type { ReferenceData } from './operators/reference-join.js';
export { parseDuration, type EpochMs, type DurationMs } from './model/time.js';
export {
  UserFunctionFailure, type UserFunctions, type UserDefinedFunction, type UserDefinedAggregate, type UserAggregateInstance,
} from './functions/user-functions.js';
