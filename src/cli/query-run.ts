// `omnistream query run`: executes a query over files exactly as a running job would. Inputs
// are JSON arrays or JSON lines, references CSV or JSON; each output row is printed as one JSON
// line {"output","row"} in emission order. Exit codes: 0 ok, 1 failure, 2 query error, 64 usage.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import {
  compileQuery, defaultEventOrderingPolicy, parseDateTime, parseDuration, QueryError, setField, toJson,
  type EventDiagnostic, type EventOrderingPolicy, type Row,
} from '../query/index.js';
import { FunctionFileError, loadUserFunctions, type FunctionFile, type FunctionKind } from '../scripting/load-functions.js';
import type { CommandBody } from './command.js';
import { findCommand, type QUERY_RUN_FLAGS } from './commands.js';
import { UsageError, type CliIO } from './common.js';
import { runCommand } from './run-command.js';

type BadLinePolicy = 'skip' | 'fail';

interface Options {
  queryFile: string;
  inputs: { name: string; file: string }[];
  references: { name: string; file: string }[];
  policy: EventOrderingPolicy;
  onBadLine: BadLinePolicy;
  functions: { name: string; kind: FunctionKind; file: string }[];
  functionTimeLimitMs: number | undefined;
}

/** A problem with the files given to the command (not with the query). */
class RunError {
  constructor(readonly message: string) {}
}

/** `omnistream query run ARGS` in process, parsed and reported exactly as on the command line. */
export async function queryRunCommand(args: readonly string[], io: CliIO): Promise<number> {
  return runCommand(findCommand(['query', 'run'])!.command, args, io);
}

export const queryRun: CommandBody<typeof QUERY_RUN_FLAGS> = async ({ values, positionals }, io) => {
  const [queryFile] = positionals;
  if (queryFile === undefined) throw new UsageError('missing the query file');
  if (values.input.length === 0) throw new UsageError('at least one --input NAME=FILE is needed');
  const options: Options = {
    queryFile,
    inputs: values.input.map((v) => namedFile('input', v)),
    references: values.reference.map((v) => namedFile('reference', v)),
    policy: {
      ...defaultEventOrderingPolicy,
      ...(values['late-arrival-tolerance'] === undefined ? {} : { lateArrivalToleranceMs: tolerance('late-arrival-tolerance', values['late-arrival-tolerance'], true) }),
      ...(values['out-of-order-tolerance'] === undefined ? {} : { outOfOrderToleranceMs: tolerance('out-of-order-tolerance', values['out-of-order-tolerance'], false) }),
      ...(values['out-of-order-action'] === undefined ? {} : { outOfOrderAction: values['out-of-order-action'] }),
    },
    onBadLine: values['on-bad-line'] ?? 'skip',
    functions: [
      ...values.udf.map((v) => ({ ...namedFile('udf', v), kind: 'udf' as const })),
      ...values.uda.map((v) => ({ ...namedFile('uda', v), kind: 'uda' as const })),
    ],
    functionTimeLimitMs: values['function-time-limit'] === undefined ? undefined : timeLimit(values['function-time-limit']),
  };
  try {
    return await run(options, io);
  } catch (e) {
    if (e instanceof QueryError) {
      io.stderr.write(e.position
        ? `${options.queryFile}:${e.position.line}:${e.position.column}: error ${e.code}: ${e.detail}\n`
        : `${options.queryFile}: error ${e.code}: ${e.message}\n`);
      return 2;
    }
    if (e instanceof FunctionFileError) {
      io.stderr.write(`${e.file}:${e.place.line}:${e.place.column}: error INVALID_FUNCTION_FILE: ${e.reason}\n`);
      return 2;
    }
    if (e instanceof RunError) {
      io.stderr.write(`omnistream query run: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
};

function namedFile(flag: string, value: string): { name: string; file: string } {
  const at = value.indexOf('=');
  if (at <= 0 || at === value.length - 1) throw new UsageError(`--${flag} takes NAME=FILE, not '${value}'`);
  return { name: value.slice(0, at), file: value.slice(at + 1) };
}

function timeLimit(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) throw new UsageError(`--function-time-limit: '${value}' is not a positive duration`);
  return ms;
}

/** Milliseconds; -1 (wait indefinitely) only where `indefinite` allows it. */
function tolerance(flag: string, value: string, indefinite: boolean): number {
  const ms = parseDuration(value);
  if (ms === undefined || (!indefinite && ms < 0)) throw new UsageError(`--${flag}: '${value}' is not a duration`);
  return ms;
}

async function run(options: Options, io: CliIO): Promise<number> {
  const text = await readText(options.queryFile, 'query');
  const files: FunctionFile[] = [];
  for (const f of options.functions) files.push({ ...f, source: await readText(f.file, `${f.kind} ${f.name}`) });
  const compiled = compileQuery(text, {
    inputs: options.inputs.map((i) => i.name),
    references: options.references.map((r) => r.name),
    functions: loadUserFunctions(files, { timeLimitMs: options.functionTimeLimitMs }),
  });

  const warnings = new Warnings(io.stderr);
  const references: Record<string, Row[]> = {};
  for (const r of options.references) references[r.name] = await readReference(r.file);

  const streams: InputEvents[] = [];
  for (const input of options.inputs) {
    if (!compiled.inputs.some((n) => n.toLowerCase() === input.name.toLowerCase())) continue;
    streams.push(await readInput(input.name, input.file, options.onBadLine, warnings));
  }

  const out = new LineWriter(io.stdout);
  const runner = compiled.createRunner({
    references,
    policy: options.policy,
    onRow: (output, row) => out.write(`${JSON.stringify({ output, row: toJson(row) })}\n`),
    onDiagnostic: (d) => warnings.diagnostic(d),
  });
  for (const e of mergeByArrival(streams)) {
    if (e.arrival !== undefined) runner.advanceTo(e.arrival);
    runner.push(e.input, e.row, e.arrival);
    await out.drainIfFull();
  }
  runner.end();
  await out.flush();
  warnings.summarise();
  return 0;
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw new RunError(`cannot read ${what} file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

// --- inputs ------------------------------------------------------------------------------------

interface InputEvent {
  readonly input: string;
  readonly row: Row;
  /** EventEnqueuedUtcTime when the event has it. */
  readonly arrival: number | undefined;
}

interface InputEvents {
  readonly name: string;
  readonly events: InputEvent[];
}

async function readInput(name: string, file: string, onBadLine: BadLinePolicy, warnings: Warnings): Promise<InputEvents> {
  const text = await readText(file, `input ${name}`);
  const events: InputEvent[] = [];
  const add = (value: unknown, line: number): void => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      bad(line, 'an event must be a JSON object');
      return;
    }
    const row = value as Row;
    const enqueued = row.EventEnqueuedUtcTime;
    const arrival = typeof enqueued === 'string' ? parseDateTime(enqueued) ?? undefined : undefined;
    events.push({ input: name, row, arrival });
  };
  const bad = (line: number, why: string): void => {
    const message = `input ${name} (${file}) line ${line}: ${why}`;
    if (onBadLine === 'fail') throw new RunError(`${message}; stopping (--on-bad-line fail)`);
    warnings.line(`${message}; skipped`);
  };

  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new RunError(`input ${name} (${file}) line ${lineOfJsonError(text, e)}: malformed JSON array: ${(e as Error).message}`);
    }
    // Element line numbers: the array is one document, so elements are numbered by position.
    (parsed as unknown[]).forEach((v, i) => add(v, i + 1));
    return { name, events };
  }
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      bad(i + 1, `malformed JSON: ${(e as Error).message}`);
      return;
    }
    add(value, i + 1);
  });
  return { name, events };
}

function lineOfJsonError(text: string, e: unknown): number {
  const m = /position (\d+)/.exec(String((e as Error).message));
  if (!m) return 1;
  return text.slice(0, Number(m[1])).split('\n').length;
}

/**
 * All inputs as one sequence in arrival order, as a job would receive them. An event without
 * EventEnqueuedUtcTime arrives right after the event before it in its file.
 */
function* mergeByArrival(streams: readonly InputEvents[]): Generator<InputEvent> {
  const cursors = streams.map(() => 0);
  const keys = streams.map(() => -Infinity);
  for (;;) {
    let best = -1;
    let bestKey = Infinity;
    streams.forEach((s, i) => {
      const e = s.events[cursors[i]!];
      if (!e) return;
      const key = e.arrival ?? keys[i]!;
      if (best < 0 || key < bestKey) { best = i; bestKey = key; }
    });
    if (best < 0) return;
    const e = streams[best]!.events[cursors[best]!++]!;
    keys[best] = Math.max(keys[best]!, e.arrival ?? keys[best]!);
    yield e;
  }
}

// --- references --------------------------------------------------------------------------------

async function readReference(file: string): Promise<Row[]> {
  const text = await readText(file, 'reference');
  if (extname(file).toLowerCase() === '.csv') return parseCsv(text, file);
  const trimmed = text.trimStart();
  try {
    if (trimmed.startsWith('[')) return JSON.parse(text) as Row[];
    return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Row);
  } catch (e) {
    throw new RunError(`reference ${file}: malformed JSON: ${(e as Error).message}`);
  }
}

/** RFC 4180 CSV with a header row; every value is a string, as reference CSV is in the cloud service. */
export function parseCsv(text: string, file = 'csv'): Row[] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else field += c;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') { record.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      field = '';
      if (record.length > 1 || record[0] !== '') records.push(record);
      record = [];
    } else field += c;
  }
  if (quoted) throw new RunError(`reference ${file}: a quoted field is not closed`);
  record.push(field);
  if (record.length > 1 || record[0] !== '') records.push(record);
  const [header, ...rows] = records;
  if (!header) return [];
  return rows.map((values) => {
    const row: Row = {};
    header.forEach((name, k) => setField(row, name, values[k] ?? null));
    return row;
  });
}

// --- output ------------------------------------------------------------------------------------

/** Buffers lines and writes them in large chunks, honouring back-pressure. */
class LineWriter {
  private chunks: string[] = [];
  private size = 0;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  write(line: string): void {
    this.chunks.push(line);
    this.size += line.length;
  }

  async drainIfFull(): Promise<void> {
    if (this.size >= 1 << 16) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.chunks.length === 0) return;
    const data = this.chunks.join('');
    this.chunks = [];
    this.size = 0;
    if (!this.stream.write(data)) await new Promise<void>((resolve) => this.stream.once('drain', () => resolve()));
  }
}

/** Warnings on stderr: every bad line, and the first few diagnostics of each kind, then a count. */
class Warnings {
  private readonly counts = new Map<string, number>();
  private static readonly shownPerCode = 10;

  constructor(private readonly stderr: NodeJS.WritableStream) {}

  line(message: string): void {
    this.stderr.write(`warning: ${message}\n`);
  }

  diagnostic(d: EventDiagnostic): void {
    const n = (this.counts.get(d.code) ?? 0) + 1;
    this.counts.set(d.code, n);
    if (n > Warnings.shownPerCode) return;
    const at = d.position ? ` (query ${d.position.line}:${d.position.column})` : '';
    this.stderr.write(`warning: ${d.code}: ${d.message}${at}\n`);
  }

  summarise(): void {
    for (const [code, n] of this.counts) {
      if (n > Warnings.shownPerCode) this.stderr.write(`warning: ${code}: ${n} events in all\n`);
    }
  }
}
