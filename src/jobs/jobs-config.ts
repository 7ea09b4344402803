// What the config says about jobs, references and outputs, resolved (paths absolute, durations in
// ms, query text read). The settings are declared in config/jobs-settings.ts; the job manager
// builds from this.
import { readFile } from 'node:fs/promises';
import { isQueryFile, type Config } from '../config/index.js';
import type { PostgresColumnType } from '../outputs/postgres-sink.js';
import { parseDuration, type EventOrderingPolicy, type UserFunctions } from '../query/index.js';
import { FunctionFileError, loadUserFunctions, type FunctionFile } from '../scripting/load-functions.js';
import type { StartPosition } from './job.js';

export type ReferenceConfig =
  | { readonly name: string; readonly kind: 'file'; readonly path: string }
  | { readonly name: string; readonly kind: 'postgres'; readonly url: string; readonly query: string; readonly refreshMs: number; readonly timeoutMs: number };

/** How many rows an output keeps in the ledger (for dashboards, chained jobs and redelivery). */
export interface Keep {
  readonly rows: number;
  readonly maxAgeMs: number;
}

export type OutputConfig = { readonly name: string; readonly keep: Keep } & (
  | { readonly kind: 'dashboard' }
  | { readonly kind: 'log' }
  | { readonly kind: 'postgres'; readonly url: string; readonly table: string; readonly columns: Readonly<Record<string, PostgresColumnType>> }
  | { readonly kind: 'webhook'; readonly url: string; readonly headers: Readonly<Record<string, string>>; readonly timeoutMs: number; readonly batchRows: number }
  | { readonly kind: 'file'; readonly path: string; readonly maxBytes: number; readonly maxFiles: number }
);

export type OutputKind = OutputConfig['kind'];

export interface JobConfig {
  readonly name: string;
  readonly queryText: string;
  /** Where the query came from, for errors (`file:line:column`); null for inline text. */
  readonly queryFile: string | null;
  /** Query input name → `log` (the hub's log) or the name of a `log` output (another job's stream). */
  readonly inputs: Readonly<Record<string, string>>;
  readonly tenants: 'per-tenant' | 'shared';
  /** Where the job starts each time it starts; `checkpoint` resumes (from the earliest message the first time). */
  readonly startFrom: StartPosition | { readonly kind: 'checkpoint' };
  readonly policy: Partial<EventOrderingPolicy>;
  /** An output for events the job cannot read; the built-in dead-letter output when null. */
  readonly deadLetters: string | null;
  readonly checkpointIntervalMs: number;
  /** The JavaScript functions and aggregates the query calls, loaded and checked. */
  readonly functions: UserFunctions;
}

export interface JobsConfig {
  readonly references: readonly ReferenceConfig[];
  readonly outputs: readonly OutputConfig[];
  readonly jobs: readonly JobConfig[];
}

/** Where jobs put events they cannot read unless told otherwise: a stream per job, under this name. */
export const DEAD_LETTERS_OUTPUT = '$deadletters';

export const NO_JOBS: JobsConfig = { references: [], outputs: [], jobs: [] };

/** A job that cannot even be built from the config (its query file is unreadable, say). */
export interface ConfigProblem {
  readonly job: string;
  readonly message: string;
  readonly at: string | null;
}

/** The jobs section of the config as the job manager takes it; query files are read here. */
export async function jobsConfigOf(config: Config): Promise<{ readonly jobs: JobsConfig; readonly problems: readonly ConfigProblem[] }> {
  const references: ReferenceConfig[] = Object.entries(config.reference).map(([name, r]) => r.file !== null
    ? { name, kind: 'file', path: r.file }
    : { name, kind: 'postgres', url: r.postgres.url!, query: r.postgres.query!, refreshMs: r.postgres.refreshSeconds * 1000, timeoutMs: r.postgres.timeout });
  const outputs: OutputConfig[] = Object.entries(config.outputs).map(([name, o]): OutputConfig => {
    const keep = { rows: o.keep.rows, maxAgeMs: o.keep.age };
    switch (o.type) {
      case 'dashboard':
      case 'log':
        return { name, keep, kind: o.type };
      case 'postgres':
        return { name, keep, kind: 'postgres', url: o.url!, table: o.table!, columns: o.columns as Record<string, PostgresColumnType> };
      case 'webhook':
        return { name, keep, kind: 'webhook', url: o.url!, headers: o.headers, timeoutMs: o.timeout, batchRows: o.batchRows };
      case 'file':
        return { name, keep, kind: 'file', path: o.path!, maxBytes: o.maxBytes, maxFiles: o.maxFiles };
    }
  });
  const jobs: JobConfig[] = [];
  const problems: ConfigProblem[] = [];
  for (const [name, j] of Object.entries(config.jobs)) {
    let queryText = j.query;
    let queryFile: string | null = null;
    if (isQueryFile(j.query)) {
      queryFile = j.query;
      try {
        queryText = await readFile(j.query, 'utf8');
      } catch (err) {
        problems.push({ job: name, message: `cannot read the query file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, at: j.query });
        continue;
      }
    }
    const functions = await functionsOf(name, j.functions, j.functionTimeLimit);
    if ('problem' in functions) {
      problems.push(functions.problem);
      continue;
    }
    const inputs = Object.fromEntries(Object.entries(j.inputs).map(([input, i]) => [input, i.from]));
    const start = j.startFrom;
    jobs.push({
      name, queryText, queryFile,
      inputs: Object.keys(inputs).length > 0 ? inputs : { events: 'log' },
      tenants: j.tenants,
      startFrom: start === 'checkpoint' || start === 'earliest' || start === 'latest' ? { kind: start } : { kind: 'time', time: new Date(start) },
      policy: {
        lateArrivalToleranceMs: parseDuration(j.eventOrdering.lateArrival)!,
        outOfOrderToleranceMs: parseDuration(j.eventOrdering.outOfOrder)!,
        outOfOrderAction: j.eventOrdering.action,
      },
      deadLetters: j.deadLetters,
      checkpointIntervalMs: j.checkpointInterval,
      functions: functions.loaded,
    });
  }
  return { jobs: { references, outputs, jobs }, problems };
}

/** A job's function files, read and loaded; a file that cannot be is the job's problem, at its line. */
async function functionsOf(
  job: string,
  declared: Readonly<Record<string, { readonly udf: string | null; readonly uda: string | null }>>,
  timeLimitMs: number,
): Promise<{ loaded: UserFunctions } | { problem: ConfigProblem }> {
  const files: FunctionFile[] = [];
  for (const [name, f] of Object.entries(declared)) {
    const file = (f.udf ?? f.uda)!;
    try {
      files.push({ name, kind: f.udf !== null ? 'udf' : 'uda', file, source: await readFile(file, 'utf8') });
    } catch (err) {
      return { problem: { job, message: `cannot read the file of function ${name}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, at: file } };
    }
  }
  try {
    return { loaded: loadUserFunctions(files, { timeLimitMs }) };
  } catch (err) {
    if (!(err instanceof FunctionFileError)) throw err;
    return { problem: { job, message: `INVALID_FUNCTION_FILE: ${err.reason}`, at: `${err.file}:${err.place.line}:${err.place.column}` } };
  }
}
