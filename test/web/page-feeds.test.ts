// A dashboard's outputs followed over one stream: loads first, then one EventSource for every
// output the server has; rows, status and resets routed to their output; a dropped stream
// reconnecting and catching up; a refused one retried after loads that say why (an output gone, a
// refused key); a hidden page letting its stream go. Fakes stand in for fetch, EventSource and timers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiError, KeyRefusedError, UnreachableError } from '../../web/src/lib/api-errors.js';
import type { OutputRow } from '../../web/src/lib/wire.js';
import { RESET_RELOAD_MS, RETRY_MS, type FeedEnvironment, type StreamMessage, type StreamSource } from '../../web/src/ui/output-feed.js';
import { MAX_STREAM_OUTPUTS, PageFeeds, streamPlans } from '../../web/src/ui/page-feeds.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0);
const MIN = 60_000;

class FakeStream implements StreamSource {
  readyState = 0;
  closed = false;
  private readonly listeners = new Map<string, ((e: StreamMessage) => void)[]>();
  constructor(readonly url: string) {}
  addEventListener(type: string, listener: (e: StreamMessage) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  close(): void {
    this.closed = true;
    this.readyState = 2;
  }
  emit(type: string, data?: unknown): void {
    if (type === 'open') this.readyState = 1;
    for (const l of this.listeners.get(type) ?? []) l({ data: typeof data === 'string' ? data : JSON.stringify(data) });
  }
  /** The connection dropped (EventSource reconnects: readyState 0) or was refused (2). */
  fail(refused: boolean): void {
    this.readyState = refused ? 2 : 0;
    this.emit('error');
  }
  /** The outputs on its URL. */
  get outputs(): string[] {
    return (new URL(this.url, 'http://page').searchParams.get('outputs') ?? '').split(',').filter(Boolean);
  }
}

type Answer = (url: URL) => unknown;

/** The server as the feeds see it: answers per output (rows, or an error thrown), every URL asked, streams opened, timers. */
class FakeEnvironment implements FeedEnvironment {
  nowMs = T0;
  readonly asked: URL[] = [];
  readonly streams: FakeStream[] = [];
  readonly answers = new Map<string, Answer>();
  private timers: { at: number; fn: () => void; cancelled: boolean }[] = [];

  async getJson(url: string): Promise<unknown> {
    const u = new URL(url, 'http://page');
    this.asked.push(u);
    const output = decodeURIComponent(u.pathname.replace('/api/outputs/', ''));
    const answer = this.answers.get(output);
    if (!answer) throw new ApiError(404, 'output_not_found', `No output named '${output}'`);
    return answer(u);
  }

  openStream(url: string): FakeStream {
    const s = new FakeStream(url);
    this.streams.push(s);
    return s;
  }

  later(ms: number, fn: () => void): () => void {
    const timer = { at: this.nowMs + ms, fn, cancelled: false };
    this.timers.push(timer);
    return () => { timer.cancelled = true; };
  }

  now(): number {
    return this.nowMs;
  }

  /** Moves the clock on, running the timers due (and what they start). */
  async tick(ms: number): Promise<void> {
    const until = this.nowMs + ms;
    for (;;) {
      const due = this.timers.filter((t) => !t.cancelled && t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.nowMs = due.at;
      due.cancelled = true;
      due.fn();
      await settle();
    }
    this.nowMs = until;
    this.timers = this.timers.filter((t) => !t.cancelled);
  }

  get stream(): FakeStream {
    return this.streams[this.streams.length - 1]!;
  }

  /** The outputs asked for since `from` (an index into `asked`), with their `since`. */
  loadsSince(from: number): string[] {
    return this.asked.slice(from).map((u) => `${decodeURIComponent(u.pathname.replace('/api/outputs/', ''))}${u.searchParams.has('since') ? ` since ${u.searchParams.get('since')}` : ''}`);
  }
}

/** Lets the promises of answered loads run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

let nextId = 1;
const row = (minute: number, fields: Record<string, unknown> = {}, job = 'j', tenant = 'nordvik'): OutputRow =>
  ({ id: nextId++, job, tenant, timestampMs: T0 + minute * MIN, row: fields });
const wire = (r: OutputRow) => ({ id: r.id, job: r.job, tenant: r.tenant, timestamp: new Date(r.timestampMs).toISOString(), row: r.row });
const answerRows = (output: string, rows: readonly OutputRow[], writers: unknown[] = []): Answer => () => ({ output, writers, rows: rows.map(wire) });

/** A page following `outputs`; with `rangeMs` as for line and heatmap tiles (else only each tenant's two newest timestamps stay). */
function page(outputs: readonly string[], env: FakeEnvironment, rangeMs: number | null = null): { live: PageFeeds; refused: KeyRefusedError[] } {
  const refused: KeyRefusedError[] = [];
  const live = new PageFeeds(outputs.map((output) => ({ output, rangeMs })), 'vk_test', (e) => refused.push(e), env);
  return { live, refused };
}

describe('one stream for the page', () => {
  test('opens once every output\'s first load has answered, with the outputs the server has; an unknown one says so in its tiles', async () => {
    const env = new FakeEnvironment();
    let answerA: (() => void) | undefined;
    env.answers.set('A', (u) => new Promise((resolve) => { answerA = () => resolve(answerRows('A', [row(0, { n: 1 })])(u)); }));
    env.answers.set('B', answerRows('B', [row(0, { n: 2 })]));
    const { live } = page(['A', 'Gone', 'B'], env);
    live.start();
    await settle();
    assert.equal(env.streams.length, 0, 'no stream before every first load has answered');
    assert.equal(live.feeds.get('A')!.phase, 'loading');
    answerA!();
    await settle();
    assert.equal(env.streams.length, 1);
    assert.deepEqual(env.stream.outputs, ['A', 'B'], 'the unknown output is left off: the stream would refuse the whole list');
    assert.match(new URL(env.stream.url, 'http://page').pathname, /^\/api\/stream$/);
    assert.equal(new URL(env.stream.url, 'http://page').searchParams.get('key'), 'vk_test');
    assert.match(live.feeds.get('Gone')!.failure!, /The output Gone does not exist on the server: No output named 'Gone'/);
    assert.equal(live.feeds.get('Gone')!.phase, 'failed');
    assert.equal(live.feeds.get('A')!.phase, 'connecting');
    live.stop();
  });

  test('rows events go to their output; status events by output, or as one list for a stream of one', async () => {
    const env = new FakeEnvironment();
    env.answers.set('A', answerRows('A', []));
    env.answers.set('B', answerRows('B', []));
    const { live } = page(['A', 'B'], env);
    live.start();
    await settle();
    const from = env.asked.length;
    env.stream.emit('open');
    await settle();
    assert.deepEqual(env.loadsSince(from).sort(), ['A', 'B'], 'each output loads what came before the stream opened');
    const a = live.feeds.get('A')!, b = live.feeds.get('B')!;
    assert.equal(a.phase, 'live');
    const r1 = row(1, { n: 5 }), r2 = row(1, { n: 6 });
    env.stream.emit('rows', { output: 'A', rows: [wire(r1)] });
    env.stream.emit('rows', { output: 'B', rows: [wire(r2), { id: 'bad' }] });
    env.stream.emit('rows', { output: 'Other', rows: [wire(row(1))] });
    env.stream.emit('rows', 'not json');
    assert.deepEqual(a.rows.all.map((r) => r.row.n), [5]);
    assert.deepEqual(b.rows.all.map((r) => r.row.n), [6]);
    assert.equal(b.rejected, 1, 'a malformed row is counted');
    const writer = { job: 'products', state: 'running', clock: '2026-01-01T12:00:00Z', watermark: '2026-01-01T11:59:58Z' };
    env.stream.emit('status', { writers: { A: [writer], B: [] } });
    assert.deepEqual(a.writers, [writer]);
    assert.deepEqual(b.writers, []);
    live.stop();

    const one = new FakeEnvironment();
    one.answers.set('A', answerRows('A', []));
    const single = page(['A'], one);
    single.live.start();
    await settle();
    one.stream.emit('status', { writers: [writer] });
    one.stream.emit('rows', { rows: [wire(row(2, { n: 7 }))] });
    assert.deepEqual(single.live.feeds.get('A')!.writers, [writer]);
    assert.deepEqual(single.live.feeds.get('A')!.rows.all.map((r) => r.row.n), [7], 'a stream of one output may leave its name out');
    single.live.stop();
  });

  test('a reset drops the job\'s rows stamped at or after `from`, and loads the output again a moment later', async () => {
    const env = new FakeEnvironment();
    const held = [row(0, { n: 1 }, 'products'), row(1, { n: 2 }, 'products'), row(2, { n: 3 }, 'products'), row(2, { n: 4 }, 'other')];
    env.answers.set('A', answerRows('A', held));
    env.answers.set('B', answerRows('B', [row(2, { n: 9 }, 'products')]));
    const { live } = page(['A', 'B'], env, 60 * MIN);
    live.start();
    await settle();
    env.stream.emit('open');
    await settle();
    const from = env.asked.length;
    env.stream.emit('reset', { job: 'products', outputs: ['A'], from: new Date(T0 + MIN).toISOString() });
    assert.deepEqual(live.feeds.get('A')!.rows.all.map((r) => r.row.n), [1, 4], 'rows of another job, or stamped before `from`, stay');
    assert.deepEqual(live.feeds.get('B')!.rows.all.map((r) => r.row.n), [9], 'an output not named is left alone');
    assert.deepEqual(env.loadsSince(from), [], 'not at once: the server drops its rows after telling the streams');
    env.answers.set('A', answerRows('A', [held[0]!, held[3]!, row(1, { n: 20 }, 'products')]));
    await env.tick(RESET_RELOAD_MS);
    assert.deepEqual(env.loadsSince(from), [`A since ${new Date(env.nowMs - 60 * MIN).toISOString()}`], 'the whole range again');
    assert.deepEqual(live.feeds.get('A')!.rows.all.map((r) => r.row.n), [1, 20, 4]);
    env.stream.emit('reset', { job: 'products', outputs: ['A', 'B'], from: null });
    assert.deepEqual(live.feeds.get('A')!.rows.all.map((r) => r.row.n), [4], 'from null: every row of the job');
    assert.deepEqual(live.feeds.get('B')!.rows.all.map((r) => r.row.n), []);
    live.stop();
  });

  test('a dropped stream shows as reconnecting; when it opens again every output loads what came in between', async () => {
    const env = new FakeEnvironment();
    env.answers.set('A', answerRows('A', [row(3, { n: 1 }), row(5, { n: 2 }, 'j', 'solenne')]));
    const { live } = page(['A'], env);
    live.start();
    await settle();
    env.stream.emit('open');
    await settle();
    const a = live.feeds.get('A')!;
    env.stream.fail(false);
    assert.equal(a.phase, 'reconnecting');
    assert.equal(env.streams.length, 1, 'EventSource reconnects by itself');
    const from = env.asked.length;
    env.stream.emit('open');
    await settle();
    assert.equal(a.phase, 'live');
    // From the oldest of each tenant's newest timestamps: nothing any tenant missed is skipped.
    assert.deepEqual(env.loadsSince(from), [`A since ${new Date(T0 + 3 * MIN).toISOString()}`]);
    live.stop();
  });

  test('a refused stream: loads say why — an output gone since is left off the next stream, a refused key stops the page once', async () => {
    const env = new FakeEnvironment();
    env.answers.set('A', answerRows('A', []));
    env.answers.set('B', answerRows('B', []));
    const { live, refused } = page(['A', 'B'], env);
    live.start();
    await settle();
    const first = env.stream;
    env.answers.delete('B');
    first.fail(true);
    await settle();
    assert.equal(first.closed, true);
    assert.equal(env.streams.length, 2, 'opened again at once without the output gone');
    assert.deepEqual(env.stream.outputs, ['A']);
    assert.match(live.feeds.get('B')!.failure!, /does not exist/);

    env.answers.set('A', () => { throw new KeyRefusedError(401, 'invalid_viewer_key', 'The viewer key is not known'); });
    env.stream.fail(true);
    await settle();
    await env.tick(RETRY_MS.max * 2);
    assert.equal(refused.length, 1);
    assert.equal(refused[0]!.code, 'invalid_viewer_key');
    assert.equal(env.streams.length, 2, 'no stream after the key was refused');
    assert.ok(env.streams.every((s) => s.closed));
  });

  test('a refused stream with nothing wrong on loading is tried again, waiting longer each time', async () => {
    const env = new FakeEnvironment();
    env.answers.set('A', answerRows('A', []));
    const { live } = page(['A'], env);
    live.start();
    await settle();
    env.stream.fail(true);
    await settle();
    assert.equal(live.feeds.get('A')!.phase, 'reconnecting');
    await env.tick(RETRY_MS.first - 1);
    assert.equal(env.streams.length, 1);
    await env.tick(1);
    assert.equal(env.streams.length, 2);
    env.stream.fail(true);
    await settle();
    await env.tick(RETRY_MS.first);
    assert.equal(env.streams.length, 2, 'the second wait is longer');
    await env.tick(RETRY_MS.first);
    assert.equal(env.streams.length, 3);
    env.stream.emit('open');
    await settle();
    assert.equal(live.feeds.get('A')!.phase, 'live');
    live.stop();
  });

  test('a first load that cannot reach the server is retried; the stream opens meanwhile, and a key refused at once stops the page once', async () => {
    const env = new FakeEnvironment();
    let down = true;
    env.answers.set('A', (u) => {
      if (down) throw new UnreachableError('Cannot reach the server (fetch failed)');
      return answerRows('A', [row(0, { n: 1 })])(u);
    });
    const { live } = page(['A'], env);
    live.start();
    await settle();
    const a = live.feeds.get('A')!;
    assert.equal(a.phase, 'reconnecting');
    assert.match(a.trouble!, /Cannot reach the server/);
    assert.equal(env.streams.length, 1);
    down = false;
    await env.tick(RETRY_MS.first);
    assert.equal(a.isLoaded, true);
    assert.equal(a.trouble, null);
    live.stop();

    const refusedEnv = new FakeEnvironment();
    for (const o of ['A', 'B', 'C']) refusedEnv.answers.set(o, () => { throw new KeyRefusedError(401, 'unauthorized', 'A viewer key is needed'); });
    const refusedPage = page(['A', 'B', 'C'], refusedEnv);
    refusedPage.live.start();
    await settle();
    assert.equal(refusedPage.refused.length, 1);
    assert.equal(refusedEnv.streams.length, 0);
  });

  test('a hidden page lets its stream go (and retries nothing); shown again, it opens one and catches up', async () => {
    const env = new FakeEnvironment();
    env.answers.set('A', answerRows('A', [row(0, { n: 1 })]));
    const { live } = page(['A'], env);
    live.start();
    await settle();
    env.stream.emit('open');
    await settle();
    live.suspend();
    assert.equal(env.stream.closed, true);
    assert.equal(live.feeds.get('A')!.phase, 'suspended');
    await env.tick(10 * 60_000);
    assert.equal(env.streams.length, 1);
    live.resume();
    assert.equal(env.streams.length, 2);
    const from = env.asked.length;
    env.stream.emit('open');
    await settle();
    assert.deepEqual(env.loadsSince(from), [`A since ${new Date(T0).toISOString()}`]);
    live.stop();
  });
});

test('the streams of a page: one for up to 50 outputs; more are split; a name with a comma gets its own', () => {
  assert.deepEqual(streamPlans(['A', 'B'], 'vk_1'), [{ outputs: ['A', 'B'], url: '/api/stream?key=vk_1&outputs=A%2CB' }]);
  const many = Array.from({ length: MAX_STREAM_OUTPUTS + 3 }, (_, i) => `O${i}`);
  assert.deepEqual(streamPlans(many, 'k').map((p) => p.outputs.length), [MAX_STREAM_OUTPUTS, 3]);
  assert.deepEqual(streamPlans(['A', 'x,y'], 'k').map((p) => p.url), ['/api/stream?key=k&outputs=A', '/api/outputs/x%2Cy/stream?key=k']);
  assert.deepEqual(streamPlans([], 'k'), []);
});
