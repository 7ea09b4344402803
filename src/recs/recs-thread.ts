// The recommender's thread: the model, its checkpoints and its answers, in an isolate of its own.
// On the server's thread, the garbage collection of a model of a few hundred MB (slow scavenges of
// the histories and pair tables each event leaves behind) and the checkpoints' writes stalled every
// request, /healthz included, for tens of ms (docs/recommendations.md, "Serving"). The server's
// thread reads the log and hands the events over in order with the positions they reach
// (recs-runner.ts), so a checkpoint here commits the model with exactly the positions it follows
// from: a restart neither loses nor counts an event twice.
import { parentPort, workerData } from 'node:worker_threads';
import type { FromRecsThread, RecsCounts, RecsOpened, RecsQuery, RecsThreadData, ToRecsThread } from './recs-messages.js';
import { Recommender, type Recommendation } from './recommender.js';
import { recsConfigOf } from './recs-rules.js';
import { SqliteRecsStore } from './sqlite-recs-store.js';

/** How long absorbing may go on before the questions waiting are answered. */
const SLICE_MS = 1;

const port = parentPort!;
const data = workerData as RecsThreadData;
const config = recsConfigOf(data.settings);
const recommender = new Recommender(config);
let store: SqliteRecsStore | undefined;
/** Where the log's reading stands after the last event absorbed (null: nothing absorbed since the store's checkpoint-less start). */
let positions: readonly number[] | null = null;
/** Events absorbed since the last commit. */
let pending = 0;
/** A checkpoint failed: events are dropped (read again after the next open) until then. */
let failed = false;
let checkpointTimer: NodeJS.Timeout | undefined;
/** Opens, events, checkpoints and the close, one after another: the model must not change while a checkpoint reads it. */
let queue: Promise<void> = Promise.resolve();

const post = (m: FromRecsThread): void => port.postMessage(m);
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function counts(): RecsCounts {
  return { absorbed: recommender.absorbed, skipped: recommender.skippedCounts() };
}

async function open(): Promise<RecsOpened> {
  clearTimeout(checkpointTimer);
  recommender.clear();
  store ??= new SqliteRecsStore(data.storePath, (message) => post({ type: 'warning', message }));
  const stored = await store.load();
  for (const [tenant, records] of stored.tenants) recommender.restore(tenant, records);
  if (stored.checkpoint) recommender.restoreCounts(stored.checkpoint.absorbed, stored.checkpoint.skipped);
  positions = stored.checkpoint?.positions ?? null;
  pending = 0;
  failed = false;
  return { positions, ...counts() };
}

/** Sliced: between slices the questions that came meanwhile are answered. */
async function absorb(events: readonly unknown[], to: readonly number[]): Promise<RecsCounts> {
  if (failed) return counts();
  let sliceEnds = performance.now() + SLICE_MS;
  for (let i = 0; i < events.length; i += 4) {
    const text = events[i + 2] as string | null;
    let body: unknown;
    if (text !== null) {
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
    }
    recommender.absorb(events[i] as string, events[i + 1] as string, body, events[i + 3] as number);
    if ((i & 127) === 124 && performance.now() >= sliceEnds) {
      await nextTurn();
      sliceEnds = performance.now() + SLICE_MS;
    }
  }
  positions = to;
  pending += events.length / 4;
  checkpointTimer ??= setTimeout(() => {
    checkpointTimer = undefined;
    void enqueue(checkpoint);
  }, config.checkpointIntervalMs);
  return counts();
}

async function checkpoint(): Promise<void> {
  if (failed || pending === 0 || positions === null || store === undefined) return;
  try {
    // Sliced: the questions that come meanwhile are answered between slices.
    const changes = recommender.takeChanges();
    await store.commit({ positions, absorbed: recommender.absorbed, skipped: recommender.skippedCounts() }, changes);
    pending = 0;
  } catch (err) {
    // What was absorbed since the last checkpoint is read again after the server's thread reopens.
    failed = true;
    post({ type: 'failed', error: messageOf(err) });
  }
}

async function close(): Promise<void> {
  clearTimeout(checkpointTimer);
  try {
    await checkpoint();
  } finally {
    await store?.close();
  }
}

function answer(q: RecsQuery): Recommendation {
  switch (q.kind) {
    case 'item': return recommender.forItem(q.tenant, q.item, q.k, q.store);
    case 'shopper': return recommender.forShopper(q.tenant, q.shopper, q.k, q.store);
    case 'popular': return recommender.popularItems(q.tenant, q.k, q.store);
  }
}

function enqueue<T>(work: () => Promise<T>): Promise<T> {
  const done = queue.then(work);
  queue = done.then(() => undefined, () => undefined);
  return done;
}

function reply(id: number, work: Promise<RecsOpened | RecsCounts | null>): void {
  work.then((value) => post({ type: 'reply', id, value }), (err: unknown) => post({ type: 'reply', id, error: messageOf(err) }));
}

port.on('message', (m: ToRecsThread) => {
  switch (m.type) {
    case 'ask':
      // Answered at once, not behind the queue: a question only reads the model.
      try {
        post({ type: 'reply', id: m.id, value: answer(m.query) });
      } catch (err) {
        post({ type: 'reply', id: m.id, error: messageOf(err) });
      }
      return;
    case 'open': return reply(m.id, enqueue(open));
    case 'absorb': return reply(m.id, enqueue(() => absorb(m.events, m.positions)));
    case 'close': return reply(m.id, enqueue(async () => {
      await close();
      return null;
    }));
  }
});

