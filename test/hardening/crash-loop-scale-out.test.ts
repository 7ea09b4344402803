// kill -9 at random moments on the scale-out backends: the log on NATS JetStream (a stream prefix
// of its own) and the registry, keys, consumer groups and job state in PostgreSQL (a schema of its
// own), both removed after. The same loop and checks as on the embedded files (crash-loop-run.ts);
// a restarted process takes the job over once the killed one's lease (1 s here) lapses.
//   OMNISTREAM_CRASH_CYCLES=N (default 20 here), OMNISTREAM_FUZZ_SEED=N to replay the kill moments
import { test } from 'node:test';
import { sharedHub, skipWithoutScaleOut } from '../helpers/scale-out.js';
import { runCrashLoop } from './crash-loop-run.js';

const CYCLES = Number(process.env.OMNISTREAM_CRASH_CYCLES ?? 20);
const SEED = Number(process.env.OMNISTREAM_FUZZ_SEED ?? Date.now() % 2 ** 31);

test(`kill -9 at ${CYCLES} random moments on JetStream and PostgreSQL (seed ${SEED}): nothing acknowledged lost before its retention time, nothing doubled, nothing checkpointed handed out again, no window row missing or doubled`, { timeout: 60_000 + CYCLES * 20_000 }, async (t) => {
  if (await skipWithoutScaleOut(t)) return;
  const hub = sharedHub();
  try {
    const run = await runCrashLoop({ cycles: CYCLES, seed: SEED, flags: hub.flags, retentionMs: 15_000 });
    t.diagnostic(JSON.stringify(run));
  } finally {
    await hub.remove();
  }
});
