// The streaming SQL engine's public API. Nothing else under src/query is imported from outside.
export { compileQuery, type CompiledQuery, type CompileOptions } from './compile-query.js';
export { QueryRunner, type RunnerOptions, type QueryCheckpoint } from './query-runner.js';
export {
  QueryError, queryErrorCatalogue, type QueryErrorCode, type SourcePosition, type EventDiagnostic, type EventDiagnosticCode,
} from './errors.js';
export { defaultEventOrderingPolicy, earlyArrivalLimitMs, type EventOrderingPolicy, type OutOfOrderAction } from './runtime/event-ordering.js';
export { defaultOutput } from './semantic/analyze.js';
export { DateTime, formatDateTime, parseDateTime, setField, toJson, type Row, type Value } from './values.js';
export { parseDuration, type EpochMs, type DurationMs } from './time.js';
