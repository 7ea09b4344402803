// The settings of continuous jobs: reference data, outputs and jobs, each a set of entries named
// by the user (docs/jobs.md). Declared here with every other setting; jobs/ turns the values into
// what it runs.
import { POSTGRES_COLUMN_TYPES } from '../outputs/postgres-sink.js';
import { parseDuration } from '../query/index.js';
import { choice, duration, integer, mapping, path, queryText, records, section, text } from './schema.js';

/** The kinds of output a job can write to. */
export const OUTPUT_TYPES = ['dashboard', 'log', 'postgres', 'webhook', 'file'] as const;

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** `checkpoint`, `earliest`, `latest` or an ISO 8601 time with a zone. */
export function isStartPosition(value: string): boolean {
  return value === 'checkpoint' || value === 'earliest' || value === 'latest' || (ISO_TIME.test(value) && !Number.isNaN(Date.parse(value)));
}

/** A duration as queries write them (`5s`, `00:00:05`), or -1 for "wait indefinitely". */
function isTolerance(value: string): boolean {
  return parseDuration(value) !== undefined;
}

const keep = () => section({
  rows: integer({ doc: 'rows kept for dashboards, chained jobs and redelivery (rows not yet delivered or read are always kept)', min: 1, max: 100_000_000, default: 100_000 }),
  age: duration({ doc: 'rows stamped longer ago than this are dropped', default: '7d' }),
});

export const REFERENCE_SETTINGS = records(section({
  file: path({ doc: 'a CSV (header row) or JSON (array or lines) file, reloaded when it changes', default: null }),
  postgres: section({
    url: text({ doc: 'PostgreSQL connection URL', default: null, placeholder: 'URL' }),
    query: text({ doc: 'the query whose rows are the reference data', default: null, placeholder: 'SQL' }),
    refreshSeconds: integer({ doc: 'how often the query runs again', min: 1, max: 86_400, default: 60 }),
    timeout: duration({ doc: 'a query running longer is cancelled (the last snapshot stays)', default: '30s' }),
  }),
}, {
  check: (r) => {
    const pg = r.postgres.url !== null || r.postgres.query !== null;
    if (r.file !== null && pg) return { setting: 'file', problem: 'a reference is a file or a postgres query, not both' } as const;
    if (r.file === null && !pg) return { setting: 'file', problem: 'give a file, or postgres.url and postgres.query' } as const;
    if (pg && r.postgres.url === null) return { setting: 'postgres', problem: 'postgres.query needs postgres.url' } as const;
    if (pg && r.postgres.query === null) return { setting: 'postgres', problem: 'postgres.url needs postgres.query' } as const;
    return undefined;
  },
}), { doc: 'reference data sets, by the name queries JOIN them on' });

export const OUTPUT_SETTINGS = records(section({
  type: choice({ doc: 'where the rows go', values: OUTPUT_TYPES }),
  keep: keep(),
  url: text({ doc: 'postgres: connection URL; webhook: the URL rows are POSTed to', default: null, placeholder: 'URL' }),
  table: text({ doc: 'postgres: the table (created if absent), `table` or `schema.table`', default: null }),
  columns: mapping({ doc: 'postgres: columns filled from the row\'s fields of the same name, with their types', values: POSTGRES_COLUMN_TYPES, default: {} }),
  headers: mapping({ doc: 'webhook: headers sent with every batch (a shared secret, say)', default: {} }),
  batchRows: integer({ doc: 'webhook: rows per POST at most', min: 1, max: 10_000, default: 500 }),
  timeout: duration({ doc: 'webhook: a request taking longer fails and is retried', default: '10s' }),
  path: path({ doc: 'file: JSON lines are appended here', default: null }),
  maxBytes: integer({ doc: 'file: rotated once it reaches this size', min: 1_024, max: 2 ** 40, default: 64 * 2 ** 20 }),
  maxFiles: integer({ doc: 'file: rotated files kept', min: 0, max: 10_000, default: 10 }),
}, {
  check: (o) => {
    const needs = (setting: 'url' | 'table' | 'path') => ({ setting, problem: `a ${o.type} output needs ${setting}` } as const);
    if ((o.type === 'postgres' || o.type === 'webhook') && o.url === null) return needs('url');
    if (o.type === 'postgres' && o.table === null) return needs('table');
    if (o.type === 'file' && o.path === null) return needs('path');
    return undefined;
  },
}), { doc: 'where jobs write rows, by the name queries write INTO' });

export const JOB_SETTINGS = records(section({
  query: queryText({ doc: 'the query: its text, or a .saql file holding it' }),
  inputs: records(section({
    from: text({ doc: '`log` (the hub\'s log, through the job\'s own position) or the name of a `log` output (another job\'s rows)', default: 'log' }),
  }), { doc: 'the query\'s inputs (FROM names)' }),
  tenants: choice({ doc: '`per-tenant`: the query runs once per tenant, state and rows apart; `shared`: once over every tenant', values: ['per-tenant', 'shared'], default: 'per-tenant' }),
  startFrom: text({
    doc: 'where a job without a checkpoint starts: `checkpoint` (the last one, else the earliest message), `earliest`, `latest` or an ISO time',
    default: 'checkpoint', valid: isStartPosition, expected: 'checkpoint, earliest, latest or an ISO 8601 time with a zone',
  }),
  eventOrdering: section({
    lateArrival: text({ doc: 'late-arrival tolerance (`5s`, `00:00:05`; `-1` waits indefinitely)', default: '5s', valid: isTolerance, expected: 'a duration such as 5s or 00:00:05, or -1' }),
    outOfOrder: text({ doc: 'out-of-order tolerance', default: '0s', valid: isTolerance, expected: 'a duration such as 0s or 2s' }),
    action: choice({ doc: 'what happens to an event outside the tolerances', values: ['adjust', 'drop'], default: 'adjust' }),
  }),
  deadLetters: text({ doc: 'the output receiving events the job cannot read (default: its built-in dead-letter stream)', default: null, placeholder: 'OUTPUT' }),
  functions: records(section({
    udf: path({ doc: 'a JavaScript file holding one function, called in the query as udf.NAME(…)', default: null }),
    uda: path({ doc: 'a JavaScript file holding function main(), called as uda.NAME(expr) where an aggregate may stand', default: null }),
  }, {
    check: (f) => {
      if (f.udf !== null && f.uda !== null) return { setting: 'uda', problem: 'a function is a udf or a uda, not both' } as const;
      if (f.udf === null && f.uda === null) return { setting: 'udf', problem: 'give udf: FILE.js or uda: FILE.js' } as const;
      return undefined;
    },
  }), { doc: 'JavaScript functions (udf) and aggregates (uda) the query calls, by NAME (docs/query-language.md)' }),
  functionTimeLimit: duration({ doc: 'one call of a JavaScript function or aggregate running longer is stopped: NULL and a diagnostic', default: '100ms' }),
  checkpointInterval: duration({ doc: 'a checkpoint is written at least this often while events flow (and with every emitted row)', default: '1s' }),
}), { doc: 'continuous jobs: streaming SQL over the live log' });
