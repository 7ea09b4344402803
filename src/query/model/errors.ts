// The one catalogue of query errors. Every failure the engine reports has a stable code from
// this table, so the CLI, a future job API and the docs all speak the same names.

export const queryErrorCatalogue = {
  UNEXPECTED_CHARACTER: 'a character that starts no token',
  UNTERMINATED_STRING: 'a string literal without its closing quote',
  UNTERMINATED_IDENTIFIER: 'a delimited identifier without its closing bracket or quote',
  UNTERMINATED_COMMENT: 'a block comment without its closing */',
  SYNTAX_ERROR: 'the text does not follow the grammar',
  DUPLICATE_NAME: 'a WITH step or source alias is defined twice',
  UNKNOWN_INPUT: 'FROM or JOIN names neither an input, a reference nor an earlier WITH step',
  UNKNOWN_OUTPUT: 'INTO names an output the job does not define',
  UNKNOWN_COLUMN: 'a column that the source is known not to have',
  UNKNOWN_SOURCE: 'a qualified column whose qualifier is no source of the statement',
  UNKNOWN_FUNCTION: 'a function the engine does not know',
  WRONG_ARGUMENT_COUNT: 'a function called with the wrong number of arguments',
  INVALID_ARGUMENT: 'an argument of the wrong kind (time unit, window size, constant)',
  CONSTANT_TYPE_ERROR: 'a constant expression that cannot be evaluated (bad cast, wrong type)',
  AGGREGATE_WITHOUT_WINDOW: 'an aggregate in a statement that has no GROUP BY window',
  AGGREGATE_NOT_ALLOWED: 'an aggregate where only scalar expressions may appear',
  WINDOW_NOT_ALLOWED: 'a window function outside GROUP BY',
  MISSING_WINDOW: 'GROUP BY without a window or System.Timestamp()',
  MULTIPLE_WINDOWS: 'GROUP BY with more than one window',
  COLUMN_NOT_GROUPED: 'a column in SELECT or HAVING that is neither grouped nor aggregated',
  ANALYTIC_NOT_ALLOWED: 'an analytic function (LAG, LAST, ISFIRST, OVER) where it cannot be evaluated',
  MISSING_LIMIT_DURATION: 'LAG or LAST without LIMIT DURATION',
  JOIN_WITHOUT_TIME_BOUND: 'a stream-to-stream JOIN whose ON clause does not bound DATEDIFF between the two sources',
  REFERENCE_NOT_ALLOWED: 'reference data used other than on the right side of a JOIN',
  TIMESTAMP_BY_NOT_ALLOWED: 'TIMESTAMP BY where it cannot apply (reference data, System.Timestamp())',
  UNDEFINED_PATTERN_VARIABLE: 'MATCH_RECOGNIZE: a pattern variable used in PATTERN but not defined in DEFINE, or named elsewhere but absent from PATTERN',
  UNSUPPORTED: 'valid Stream Analytics syntax this engine does not implement',
  QUERY_TOO_COMPLEX: 'expressions or steps nested deeper than the compiler\'s stack allows',
  UNKNOWN_RUNNER_INPUT: 'an event pushed to an input the query does not read',
  INVALID_EVENT: 'an event that is not a JSON object',
  INVALID_STATE: 'a snapshot that does not belong to this query',
} as const;

export type QueryErrorCode = keyof typeof queryErrorCatalogue;

export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** A query that cannot be compiled or run; `position` is set whenever the text is at fault. */
export class QueryError extends Error {
  override readonly name = 'QueryError';
  readonly code: QueryErrorCode;
  readonly position: SourcePosition | undefined;

  constructor(code: QueryErrorCode, message: string, position?: SourcePosition, options?: { cause?: unknown }) {
    super(position ? `${position.line}:${position.column}: ${message}` : message, options);
    this.code = code;
    this.position = position;
  }

  /** The message without the `line:column` prefix. */
  get detail(): string {
    return this.position ? this.message.slice(this.message.indexOf(': ') + 2) : this.message;
  }
}

/**
 * A fault the engine itself should have prevented: a kind a switch does not handle, or a static
 * fault in a query that semantic analysis let through to the runtime. A bug in the engine, never
 * the query's, so it is not a QueryError and has no code in the catalogue.
 */
export class InternalError extends Error {
  override readonly name = 'InternalError';
}

/** Ends an exhaustive switch: unreachable while every kind is handled, a compile error otherwise. */
export function assertNever(x: never): never {
  throw new InternalError(`unhandled ${JSON.stringify(x)}`);
}

/**
 * A problem with one event (bad cast, division by zero, malformed timestamp). It never stops the
 * query: the value becomes NULL, or the event is dropped, and a diagnostic is reported.
 */
export interface EventDiagnostic {
  readonly code: EventDiagnosticCode;
  readonly message: string;
  /** Where in the query the failing expression is written, when an expression failed. */
  readonly position?: SourcePosition;
}

export type EventDiagnosticCode =
  | 'CONVERSION_FAILED'
  | 'DIVISION_BY_ZERO'
  | 'INVALID_TIMESTAMP'
  | 'LATE_EVENT_DROPPED'
  | 'OUT_OF_ORDER_EVENT_DROPPED'
  | 'EARLY_EVENT_DROPPED'
  /** MATCH_RECOGNIZE: one match attempt had more alternative paths than it keeps; the least preferred were dropped. */
  | 'PATTERN_PATHS_DROPPED'
  /** A JavaScript function or aggregate threw, or returned what the query cannot hold: NULL instead. */
  | 'USER_FUNCTION_FAILED'
  /** A JavaScript function or aggregate ran past its time limit and was stopped: NULL instead. */
  | 'USER_FUNCTION_TIMED_OUT';
