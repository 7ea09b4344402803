// `omnistream jobs …`: the jobs API of a running server (GET /api/jobs, stop, start, replay, dead
// letters, outputs), as a table or summary for a person, or the server's JSON with --json.
import { isStartPosition } from '../config/jobs-settings.js';
import type { JobStatus } from '../jobs/job.js';
import type { CommandBody } from './command.js';
import type { JOBS_FLAGS } from './commands.js';
import { configFrom, printJson, UsageError } from './common.js';
import {
  renderDeadLetters, renderJobs, renderJobStatus, renderOutputs,
  type DeadLettersAnswer, type JobsAnswer, type OutputsAnswer,
} from './jobs-report.js';
import { ServerClient, ServerRequestError } from './server-client.js';

/** The actions that act on one job, and so need its name. */
const ON_A_JOB = new Set(['status', 'stop', 'start', 'replay', 'deadletters']);

export const jobsCommand: CommandBody<typeof JOBS_FLAGS> = async (args, io) => {
  const { values, positionals: [action, name] } = args;
  if (!action) throw new UsageError('missing action: list, status, stop, start, replay, deadletters or outputs');
  if (ON_A_JOB.has(action) && !name) throw new UsageError(`${action} needs a job name`);
  if (!ON_A_JOB.has(action) && name !== undefined) throw new UsageError(`unexpected argument '${name}': ${action} takes no job name`);
  if (values.from !== undefined && action !== 'replay') throw new UsageError('--from goes with replay');
  if (values.limit !== undefined && action !== 'deadletters') throw new UsageError('--limit goes with deadletters');
  const from = action === 'replay' ? replayFrom(values.from) : undefined;
  const limit = values.limit === undefined ? undefined : deadLetterLimit(values.limit);

  const show = <T>(answer: T, render: (answer: T) => string): number => {
    if (values.json) printJson(io, answer);
    else io.stdout.write(render(answer));
    return 0;
  };
  const job = `api/jobs/${encodeURIComponent(name ?? '')}`;
  try {
    const server = await ServerClient.connect(configFrom(args), values.url);
    switch (action) {
      case 'list':
        return show(await server.get<JobsAnswer>('api/jobs'), renderJobs);
      case 'status':
        return show(await server.get<JobStatus>(job), renderJobStatus);
      case 'stop':
      case 'start':
        return show(await server.post<JobStatus>(`${job}/${action}`), renderJobStatus);
      case 'replay':
        return show(await server.post<JobStatus>(`${job}/replay`, { from }), (s) => `${s.name} replays from ${values.from}\n${renderJobStatus(s)}`);
      case 'deadletters':
        return show(await server.get<DeadLettersAnswer>(`${job}/deadletters${limit === undefined ? '' : `?limit=${limit}`}`), (d) => renderDeadLetters(name!, d));
      case 'outputs':
        return show(await server.get<OutputsAnswer>('api/outputs'), renderOutputs);
      default:
        // The parser accepts only the table's actions; this is a table and body out of step.
        throw new Error(`jobs action '${action}' has no implementation`);
    }
  } catch (err) {
    if (!(err instanceof ServerRequestError)) throw err;
    io.stderr.write(err.message.split('\n').map((line) => `omnistream: ${line}\n`).join(''));
    return 1;
  }
};

/** The replay request's `from`: earliest, latest, an ISO time, or a sequence number per partition. */
function replayFrom(given: string | undefined): unknown {
  if (given === undefined) throw new UsageError('replay needs --from earliest|latest|ISO-TIME|N,N,…');
  const word = given.toLowerCase();
  if (word === 'earliest' || word === 'latest') return word;
  if (/^\d+(,\d+)*$/.test(given)) return { sequenceNumbers: given.split(',').map(Number) };
  if (word !== 'checkpoint' && isStartPosition(given)) return given;
  throw new UsageError(`--from takes earliest, latest, an ISO 8601 time with a zone (2025-05-01T09:00:00Z) or a sequence number per partition (0,0,12,7), not '${given}'`);
}

function deadLetterLimit(given: string): number {
  if (!/^\d+$/.test(given) || Number(given) < 1) throw new UsageError(`--limit takes a whole number of dead letters, 1 or more, not '${given}'`);
  return Number(given);
}
