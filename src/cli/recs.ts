// `omnistream recs evaluate`: the recommender offline, against "most popular", on a file of events
// (JSON lines: messages as the feed hands them out, {"tenant","deviceId","enqueuedTimeUtc","body"},
// or bare event bodies). The settings are the server's: the `recommendations` section of --config.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { evaluate, type EvaluationEvent } from '../recs/evaluate.js';
import { recsConfigOf } from '../recs/recs-rules.js';
import type { CommandBody } from './command.js';
import type { RECS_FLAGS } from './commands.js';
import { configFrom, printJson, UsageError } from './common.js';

export const recsCommand: CommandBody<typeof RECS_FLAGS> = async (args, io) => {
  const { values, positionals: [action] } = args;
  if (action === undefined) throw new UsageError('missing action: evaluate');
  if (action !== 'evaluate') throw new Error(`recs action '${action}' has no implementation`);
  if (values.input === undefined) throw new UsageError('missing --input FILE (JSON lines of events)');
  const k = numberFlag('k', values.k, 10, 1, 100, true);
  const testFraction = numberFlag('test-fraction', values['test-fraction'], 0.2, 0.01, 0.99, false);
  const settings = configFrom(args).recommendations;
  const config = recsConfigOf(settings);
  if (config.defaults.events.size === 0 && config.tenants.size === 0) {
    throw new UsageError('no events to learn from: give the recommendations settings (events and their weights) with --config FILE');
  }
  let events: { events: EvaluationEvent[]; badLines: number };
  try {
    events = await readEvents(values.input);
  } catch (err) {
    io.stderr.write(`omnistream recs evaluate: cannot read ${values.input}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  if (events.badLines > 0) io.stderr.write(`omnistream recs evaluate: skipped ${events.badLines} lines that are not JSON objects\n`);
  const result = evaluate(config, events.events, { k, testFraction });
  printJson(io, { ...result, events: { ...result.events, badLines: events.badLines } });
  return 0;
};

function numberFlag(name: string, raw: string | undefined, fallback: number, min: number, max: number, integer: boolean): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !(n >= min && n <= max) || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}; got ${JSON.stringify(raw)}`);
  }
  return n;
}

async function readEvents(file: string): Promise<{ events: EvaluationEvent[]; badLines: number }> {
  const events: EvaluationEvent[] = [];
  let badLines = 0;
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      badLines++;
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      badLines++;
      continue;
    }
    const v = value as Record<string, unknown>;
    // A feed message carries its body beside the log's fields; a bare body is the event itself.
    const message = v.body !== null && typeof v.body === 'object' && !Array.isArray(v.body);
    const body = message ? (v.body as Record<string, unknown>) : v;
    const text = (x: unknown): string | undefined => (typeof x === 'string' && x !== '' ? x : undefined);
    const time = Date.parse(text(v.enqueuedTimeUtc) ?? text(body.time) ?? '');
    events.push({
      tenant: text(v.tenant) ?? text(body.tenant) ?? 'default',
      deviceId: text(v.deviceId) ?? text(body.deviceId) ?? '',
      atMs: Number.isFinite(time) ? time : events.length,
      body,
    });
  }
  return { events, badLines };
}
