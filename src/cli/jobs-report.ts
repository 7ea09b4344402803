// What `omnistream jobs …` prints for a person: tables and summaries of what the jobs API answers
// (the wire shapes are the server's own types). `--json` prints the answers as they came instead.
import type { JobStatus } from '../jobs/job.js';
import type { JobProblem, OutputStatus } from '../jobs/job-manager.js';
import type { ReferenceStatus } from '../reference/reference-catalog.js';

/** GET /api/jobs */
export interface JobsAnswer {
  readonly jobs: readonly JobStatus[];
  readonly refused: readonly JobProblem[];
  readonly references: readonly ReferenceStatus[];
}

/** GET /api/jobs/{name}/deadletters */
export interface DeadLettersAnswer {
  readonly output: string;
  readonly deadLetters: readonly DeadLetter[];
}

export interface DeadLetter {
  readonly tenant: string;
  readonly arrival: string;
  readonly reason?: unknown;
  readonly [field: string]: unknown;
}

/** GET /api/outputs */
export interface OutputsAnswer {
  readonly outputs: readonly OutputStatus[];
}

/** A dead letter's body is shown up to this many characters. */
const BODY_CHARS = 200;
const NONE = '-';

export function renderJobs({ jobs, refused, references }: JobsAnswer): string {
  const lines: string[] = [];
  if (jobs.length === 0) lines.push(refused.length ? 'no job is running' : 'no jobs are configured (the `jobs` section of the config; docs/jobs.md)');
  else {
    lines.push(...table(
      ['JOB', 'STATE', 'WATERMARK', 'LAG', 'EVENTS IN', 'ROWS OUT', 'DEAD LETTERS', 'LAST ERROR'],
      jobs.map((j) => [j.name, j.state, j.watermark ?? NONE, j.inputLag, j.eventsIn, j.rowsOut, j.deadLetters, j.lastError?.message ?? NONE]),
    ));
  }
  if (refused.length) {
    lines.push('', 'refused at start:');
    const width = Math.max(...refused.map((p) => p.job.length));
    for (const p of refused) lines.push(`  ${p.job.padEnd(width)}  ${p.at ? `${p.at}: ` : ''}${p.message}`);
  }
  if (references.length) {
    lines.push('', 'reference data:');
    lines.push(...table(['NAME', 'ROWS', 'VERSIONS', 'VALID FROM', 'SOURCE', 'LAST ERROR'],
      references.map((r) => [r.name, r.rows, r.versions, r.validFrom ?? NONE, r.source, r.error ? `${r.error.at}: ${r.error.message}` : NONE])).map((l) => `  ${l}`));
  }
  return `${lines.join('\n')}\n`;
}

export function renderJobStatus(s: JobStatus): string {
  const diagnostics = Object.entries(s.diagnostics);
  const facts: [string, string | number][] = [
    ['clock', s.clock ?? 'no event read yet'],
    ['watermark', s.watermark ?? 'no event read yet'],
    ['input lag', `${s.inputLag} unread`],
    ['events in', s.eventsIn],
    ['rows out', s.rowsOut],
    ['dead letters', s.deadLetters],
    ['skipped', `${s.skipped} deleted by retention before the job read them`],
    ['diagnostics', diagnostics.length ? diagnostics.map(([code, n]) => `${code} ${n}`).join(', ') : 'none'],
    ['last checkpoint', s.lastCheckpoint ?? 'none yet'],
    ['last error', s.lastError ? `${s.lastError.at}: ${s.lastError.message}` : 'none'],
    ['references', s.references.length
      ? s.references.map((r) => `${r.name} (${r.rows} rows${r.validFrom ? `, valid from ${r.validFrom}` : ''}${r.error ? `; ${r.error}` : ''})`).join(', ')
      : 'none'],
  ];
  const width = Math.max(...facts.map(([label]) => label.length));
  return `${s.name}: ${s.state}, ${s.tenants}\n${facts.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join('\n')}\n`;
}

export function renderDeadLetters(job: string, { output, deadLetters }: DeadLettersAnswer): string {
  if (deadLetters.length === 0) return `no dead letters of ${job} (output ${output})\n`;
  const lines = [`${deadLetters.length} dead letter${deadLetters.length === 1 ? '' : 's'} of ${job} (output ${output}), oldest first:`];
  for (const d of deadLetters) {
    const { tenant, arrival, reason, body, bodyEncoding, offset: _sameAsSequenceNumber, ...rest } = d;
    lines.push(`${arrival}  tenant ${tenant}: ${typeof reason === 'string' ? reason : JSON.stringify(reason ?? 'no reason given')}`);
    const fields = Object.entries(rest).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => `${k} ${typeof v === 'string' ? v : JSON.stringify(v)}`);
    if (fields.length) lines.push(`  ${fields.join('  ')}`);
    if (body !== undefined) lines.push(`  ${describeBody(body, bodyEncoding)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A body as a person can read it: base64 decoded when it is text, cut short when long. */
function describeBody(body: unknown, encoding: unknown): string {
  let text = typeof body === 'string' ? body : JSON.stringify(body);
  let label = 'body';
  if (encoding === 'base64' && typeof body === 'string') {
    const decoded = readableText(Buffer.from(body, 'base64'));
    if (decoded === undefined) label = 'body (base64)';
    else text = decoded;
  }
  return `${label} ${JSON.stringify(text.length > BODY_CHARS ? `${text.slice(0, BODY_CHARS)}…` : text)}`;
}

function readableText(bytes: Buffer): string | undefined {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    // eslint-disable-next-line no-control-regex -- control characters are what is looked for
    return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) ? undefined : text;
  } catch {
    return undefined;
  }
}

export function renderOutputs({ outputs }: OutputsAnswer): string {
  if (outputs.length === 0) return 'no outputs are configured\n';
  return `${table(['OUTPUT', 'KIND', 'JOBS', 'DELIVERED', 'BACKLOG', 'FAILURES', 'LAST ERROR'], outputs.map((o) => [
    o.name, o.kind, o.jobs.length ? o.jobs.join(',') : NONE,
    o.delivery?.lastDeliveredAt ?? NONE, o.delivery?.backlog ?? NONE, o.delivery?.failures ?? NONE,
    o.delivery?.lastError ? `${o.delivery.lastError.at}: ${o.delivery.lastError.message}${o.delivery.retryAt ? ` (retry at ${o.delivery.retryAt})` : ''}` : NONE,
  ])).join('\n')}\n`;
}

/** Columns padded to their widest cell, numbers to the right; the last column is not padded. */
function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const numeric = headers.map((_, i) => rows.some((r) => typeof r[i] === 'number') && rows.every((r) => typeof r[i] === 'number' || r[i] === NONE));
  const line = (cells: readonly (string | number)[]) => cells.map((c, i) => {
    const text = String(c);
    if (i === cells.length - 1) return text;
    return numeric[i] ? text.padStart(widths[i]!) : text.padEnd(widths[i]!);
  }).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)];
}
