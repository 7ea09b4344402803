// Test harness: runs a query through the engine's public API and returns plain JSON rows.
import { compileQuery, parseDateTime, toJson, type EventDiagnostic, type EventOrderingPolicy, type Row } from '../../src/query/index.js';

/** One pushed event: [input, event] or [input, event, arrival time as ISO text]. */
export type Push = readonly [input: string, event: Record<string, unknown>, arrival?: string];

export interface RunOptions {
  readonly references?: Record<string, Record<string, unknown>[]>;
  readonly policy?: Partial<EventOrderingPolicy>;
}

export interface RunResult {
  readonly rows: { output: string; row: Record<string, unknown> }[];
  readonly diagnostics: EventDiagnostic[];
}

/** Pushes events in the order given (all of one input when given an array), then ends the run. */
export function runQuery(text: string, events: readonly Push[] | readonly Record<string, unknown>[], options: RunOptions = {}): RunResult {
  const rows: RunResult['rows'] = [];
  const diagnostics: EventDiagnostic[] = [];
  const runner = compileQuery(text, { references: Object.keys(options.references ?? {}) }).createRunner({
    references: options.references as Record<string, Row[]> | undefined,
    policy: options.policy,
    onRow: (output, row) => rows.push({ output, row: toJson(row) as Record<string, unknown> }),
    onDiagnostic: (d) => diagnostics.push(d),
  });
  for (const e of events) {
    const [input, event, arrival] = Array.isArray(e) ? (e as Push) : (['input', e] as const);
    runner.push(input, event as Row, arrival === undefined ? undefined : at(arrival));
  }
  runner.end();
  return { rows, diagnostics };
}

/** Rows of one output, just the row objects. */
export function rowsOf(text: string, events: readonly Push[] | readonly Record<string, unknown>[], options: RunOptions = {}): Record<string, unknown>[] {
  return runQuery(text, events, options).rows.map((r) => r.row);
}

/** Epoch ms of an ISO time. */
export function at(iso: string): number {
  const ms = parseDateTime(iso);
  if (ms === null) throw new TypeError(`bad test time ${iso}`);
  return ms;
}

/** `2023-01-01T00:00:SSZ`-style times from seconds after midnight, for compact tables. */
export function t(seconds: number): string {
  return new Date(Date.UTC(2023, 0, 1) + seconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** The output form of a datetime. */
export function dt(seconds: number): string {
  return new Date(Date.UTC(2023, 0, 1) + seconds * 1000).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}
