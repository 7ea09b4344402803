// kill -9 at random moments on the embedded files (the SQLite log, groups, jobs): devices send, a
// consumer-group reader checkpoints, a job closes windows and retention deletes while the server
// is killed 20 times; see crash-loop-run.ts for what is checked.
//   OMNISTREAM_CRASH_CYCLES=N (default 20), OMNISTREAM_FUZZ_SEED=N to replay the kill moments
import { test } from 'node:test';
import { runCrashLoop } from './crash-loop-run.js';

const CYCLES = Number(process.env.OMNISTREAM_CRASH_CYCLES ?? 20);
const SEED = Number(process.env.OMNISTREAM_FUZZ_SEED ?? Date.now() % 2 ** 31);

test(`kill -9 at ${CYCLES} random moments during ingestion, checkpoints, window emission and retention (seed ${SEED}): nothing acknowledged lost before its retention time, nothing doubled, nothing checkpointed handed out again, no window row missing or doubled`, { timeout: 60_000 + CYCLES * 15_000 }, async (t) => {
  const run = await runCrashLoop({ cycles: CYCLES, seed: SEED, flags: [], retentionMs: 10_000 });
  t.diagnostic(JSON.stringify(run));
});
