import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { connect, headers } from '@nats-io/transport-node';
import { DiscardPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { OmniError } from '../../src/core/errors.js';
import { partitionFor, type StoredMessage } from '../../src/core/message.js';
import type { AppendResult, EventLog } from '../../src/log/event-log.js';
import { openJetStreamEventLog, type JetStreamEventLogOptions } from '../../src/log/jetstream-event-log.js';
import { streamName, subjectOf } from '../../src/log/jetstream-log-layout.js';
import { deleteStreams, freshPrefix, NATS_URL, natsServerMissing, natsUnavailable, skipWithoutNats, startPrivateNats } from '../helpers/nats.js';
import { requireOrSkip } from '../helpers/services.js';
import { eventLogContract, msg } from './event-log.contract.js';

const BASE = { partitions: 4, retentionMs: 1e9, dedupWindowMs: 1e9, maxPendingMessages: 1e5, replicas: 1 };

for (const storage of ['file', 'memory'] as const) {
  await eventLogContract({
    name: `JetStream (${storage} storage)`,
    unavailable: natsUnavailable,
    fixture: async () => {
      const prefix = freshPrefix();
      return {
        // One writer: the horizon can be exact (no margin for other gateways' clocks).
        open: async (options, store) => openJetStreamEventLog({
          ...BASE, ...options, url: NATS_URL, streamPrefix: `${prefix}_${store}`, storage, horizonMarginMs: 0,
        } satisfies JetStreamEventLogOptions),
        cleanup: () => deleteStreams(prefix),
      };
    },
  });
}

/** Collects onError's messages. */
function errors(): { list: string[]; onError: (m: string) => void } {
  const list: string[] = [];
  return { list, onError: (m) => void list.push(m) };
}

async function withNats(t: TestContext, body: (prefix: string) => Promise<void>): Promise<void> {
  if (await skipWithoutNats(t)) return;
  const prefix = freshPrefix();
  try {
    await body(prefix);
  } finally {
    await deleteStreams(prefix);
  }
}

const open = (prefix: string, extra: Partial<JetStreamEventLogOptions> = {}) =>
  openJetStreamEventLog({ ...BASE, url: NATS_URL, streamPrefix: prefix, storage: 'file', horizonMarginMs: 0, ...extra });

async function all(log: EventLog): Promise<StoredMessage[]> {
  const out: StoredMessage[] = [];
  for (let p = 0; p < log.partitionCount; p++) out.push(...(await log.read(p, { kind: 'earliest' }, 10_000)).messages);
  return out;
}

const isOverloaded = (e: unknown) => e instanceof OmniError && e.code === 'overloaded' && e.retryAfterSeconds === 1;
/** NATS unreachable: a 503 the client retries, never a false acknowledgement. */
const isUnavailable = (e: unknown) => e instanceof OmniError && e.code === 'unavailable' && e.retryAfterSeconds === 1;

test('two gateways share the log: each reads and hears what the other appends, and a repeated messageId is stored once between them', (t) =>
  withNats(t, async (prefix) => {
    const a = await open(prefix);
    const b = await open(prefix);
    try {
      const heard: number[] = [];
      a.onAppend((ps) => heard.push(...ps));
      const [r] = await b.append([msg('dev-b', 'from b', { messageId: 'm-1' })]);
      // A hears of it from JetStream (its notification consumer), not from b.
      const deadline = Date.now() + 2_000;
      while (!heard.includes(r!.partition) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 5));
      assert.ok(heard.includes(r!.partition), 'a listener of the other gateway was woken');
      const [m] = (await a.read(r!.partition, { kind: 'sequence', sequenceNumber: r!.sequenceNumber }, 1)).messages;
      assert.equal(m?.body.toString(), 'from b');
      assert.equal(m?.enqueuedTimeUtc.getTime(), r!.enqueuedTimeUtc.getTime());
      const [again] = await a.append([msg('dev-b', 'retried through a', { messageId: 'm-1' })]);
      assert.deepEqual([again!.duplicate, again!.partition, again!.sequenceNumber, again!.enqueuedTimeUtc.getTime()],
        [true, r!.partition, r!.sequenceNumber, r!.enqueuedTimeUtc.getTime()]);
      // Both append at once to the same partitions: one gap-free sequence per partition.
      const both = (await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).append([msg(`dev-${i % 7}`, `x${i}`)])))).flat();
      const info = await a.partitions();
      assert.equal(info.reduce((n, p) => n + p.lastEnqueuedSequenceNumber + 1, 0), 41);
      for (let p = 0; p < 4; p++) {
        const seqs = (await b.read(p, { kind: 'earliest' }, 100)).messages.map((x) => x.sequenceNumber);
        assert.deepEqual(seqs, seqs.map((_, i) => i), `partition ${p}`);
      }
      assert.equal(both.length, 40);
    } finally {
      await a.close();
      await b.close();
    }
  }));

test("past JetStream's duplicate window the dedup bucket still finds a repeated messageId, for another gateway too", (t) =>
  withNats(t, async (prefix) => {
    const options = { publishDedupWindowMs: 100, dedupWindowMs: 60_000 };
    const a = await open(prefix, options);
    const b = await open(prefix, options);
    try {
      const [first] = await a.append([msg('d', 'one', { messageId: 'late-retry' })]);
      await new Promise((res) => setTimeout(res, 350));
      const [viaA, plain] = await a.append([msg('d', 'two', { messageId: 'late-retry' }), msg('d', 'no id')]);
      const [viaB] = await b.append([msg('d', 'three', { messageId: 'late-retry' })]);
      for (const r of [viaA, viaB]) assert.deepEqual([r!.duplicate, r!.sequenceNumber, r!.enqueuedTimeUtc.getTime()], [true, first!.sequenceNumber, first!.enqueuedTimeUtc.getTime()]);
      assert.equal(plain!.duplicate, false);
      assert.deepEqual((await all(a)).map((m) => m.body.toString()), ['one', 'no id']);
    } finally {
      await a.close();
      await b.close();
    }
    // Opened again with another window, the bucket keeps its entries for that long.
    await (await open(prefix, { ...options, dedupWindowMs: 120_000 })).close();
    const nc = await connect({ servers: NATS_URL });
    const { config } = await (await jetstreamManager(nc)).streams.info(`KV_${prefix}_dedup`);
    await nc.close();
    assert.equal(config.max_age, 120_000 * 1e6);
  }));

test('the horizon stays horizonMarginMs behind the wall clock for other writers, and never goes back', (t) =>
  withNats(t, async (prefix) => {
    const log = await open(prefix, { horizonMarginMs: 500 });
    try {
      const before = Date.now();
      const h = log.horizon();
      assert.ok(h <= Date.now() - 500 && h >= before - 500);
      assert.ok(log.horizon() >= h);
    } finally {
      await log.close();
    }
  }));

test('a batch JetStream refuses in part is refused, and says so; the part stored stays (a distributed log is weaker here); a retry with messageIds stores each once', (t) =>
  withNats(t, async (prefix) => {
    const log = await open(prefix, { partitions: 2 });
    const nc = await connect({ servers: NATS_URL });
    try {
      const jsm = await jetstreamManager(nc);
      // Two devices on different partitions; the second partition's stream then takes no more messages.
      const [d0, d1] = ['dev-0', 'dev-1', 'dev-2', 'dev-3'].reduce<string[]>((acc, d) => (acc.some((x) => partitionFor(x, 2) === partitionFor(d, 2)) ? acc : [...acc, d]), []);
      const full = streamName(prefix, partitionFor(d1!, 2));
      const { config } = await jsm.streams.info(full);
      await jsm.streams.update(full, { ...config, max_msgs: 0, discard: DiscardPolicy.New });
      await log.append([msg(d1!, 'fills it')]);
      await jsm.streams.update(full, { ...config, max_msgs: 1, discard: DiscardPolicy.New });
      const batch = [msg(d0!, 'a', { messageId: 'a' }), msg(d1!, 'b', { messageId: 'b' })];
      await assert.rejects(log.append(batch), (e: unknown) => isOverloaded(e) && /maximum messages exceeded/.test((e as Error).message));
      // Not all or nothing: the first partition's message was stored and is readable.
      assert.deepEqual((await all(log)).map((m) => m.body.toString()).sort(), ['a', 'fills it']);
      await jsm.streams.update(full, { ...config });
      const [ra, rb] = await log.append(batch);
      assert.deepEqual([ra!.duplicate, rb!.duplicate], [true, false]);
      assert.deepEqual((await all(log)).map((m) => m.body.toString()).sort(), ['a', 'b', 'fills it']);
    } finally {
      await nc.close();
      await log.close();
    }
  }));

test('the partition count of an existing log cannot change; an unreachable NATS is a clear error at open', (t) =>
  withNats(t, async (prefix) => {
    const log = await open(prefix);
    await log.close();
    await assert.rejects(open(prefix, { partitions: 8 }), (e: unknown) => e instanceof OmniError && e.code === 'invalid_argument' && /cannot change/.test(e.message));
    const started = Date.now();
    await assert.rejects(open(prefix, { url: 'nats://127.0.0.1:1' }), (e: unknown) => e instanceof Error && e.message.includes('nats://127.0.0.1:1'));
    assert.ok(Date.now() - started < 5_000);
  }));

test('NATS killed and restarted: appends are refused, never falsely acknowledged, and succeed again once it is back; every acknowledged message is stored once', async (t) => {
  const missing = await natsServerMissing();
  if (requireOrSkip(t, missing)) return;
  const nats = await startPrivateNats();
  const problems = errors();
  const log = await openJetStreamEventLog({ ...BASE, url: nats.url, streamPrefix: 'restart', storage: 'file', horizonMarginMs: 0, appendTimeoutMs: 1_000, onError: problems.onError });
  let stop = false;
  try {
    const acked: string[] = [];
    const append = async (body: string) => {
      const [r] = await log.append([msg(`dev-${body.length % 5}`, body, { messageId: body })]);
      if (!r!.duplicate) acked.push(body);
      return r!;
    };
    await append('before');
    // Appends keep coming while the server dies and comes back.
    const refusals: unknown[] = [];
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          await append(`during-${i}`);
        } catch (e) {
          refusals.push(e);
          await new Promise((res) => setTimeout(res, 20));
        }
      }
    })();
    await new Promise((res) => setTimeout(res, 100));
    await nats.kill();
    const down = Date.now();
    await assert.rejects(append('while down'), (e: unknown) => isUnavailable(e) || assert.fail(String(e)));
    assert.ok(Date.now() - down < 2_500, 'refused within the append timeout');
    await new Promise((res) => setTimeout(res, 300));
    await nats.start();
    let back: AppendResult | undefined;
    for (const deadline = Date.now() + 10_000; back === undefined && Date.now() < deadline;) {
      back = await append('after').catch(async () => {
        await new Promise((res) => setTimeout(res, 100));
        return undefined;
      });
    }
    assert.ok(back, 'appends succeed again once NATS is back');
    stop = true;
    await writer;
    // Its notification consumers came back too: it hears another gateway's append.
    const heard: number[] = [];
    log.onAppend((ps) => heard.push(...ps));
    const other = await openJetStreamEventLog({ ...BASE, url: nats.url, streamPrefix: 'restart', storage: 'file', horizonMarginMs: 0 });
    const [o] = await other.append([msg('other-gateway', 'o')]).finally(() => other.close());
    for (const deadline = Date.now() + 3_000; !heard.includes(o!.partition) && Date.now() < deadline;) await new Promise((res) => setTimeout(res, 10));
    assert.ok(heard.includes(o!.partition), 'woken by an append after the restart');
    acked.push('o');
    assert.ok(refusals.length > 0);
    for (const e of refusals) assert.ok(isUnavailable(e), String(e));
    assert.ok(problems.list.some((m) => m.includes('lost NATS')), problems.list.join('\n'));
    const stored = await all(log);
    const bodies = stored.map((m) => m.body.toString());
    assert.equal(new Set(bodies).size, bodies.length, 'nothing stored twice');
    for (const b of acked) assert.ok(bodies.includes(b), `acknowledged ${b} is stored`);
    for (let p = 0; p < log.partitionCount; p++) {
      const seqs = stored.filter((m) => m.partition === p).map((m) => m.sequenceNumber);
      assert.deepEqual(seqs, seqs.map((_, i) => i), `partition ${p} is gap-free`);
    }
  } finally {
    stop = true;
    await log.close();
    await nats.stop();
  }
});

test('fields survive NATS headers as they are: empty, spaces at the ends, quotes, line breaks, non-ASCII', (t) =>
  withNats(t, async (prefix) => {
    const log = await open(prefix, { partitions: 1 });
    try {
      const values = ['', ' ', ' lead', 'trail ', '"quoted"', 'a\r\nb', 'tab\there', 'ü 漢字', '\u00a0nbsp', 'x","y', 'plain-value_1.2:3', '\u2028'];
      await log.append(values.map((v, i) => msg(`dev ${v}`, String(i), {
        tenant: v, generationId: v, messageId: v, correlationId: v, contentType: v, contentEncoding: v, properties: { [v]: v },
        authMethod: { scope: 'hub', type: 'sas', issuer: 'iothub', policy: v },
      })));
      const page = await log.read(0, { kind: 'earliest' }, 100);
      assert.equal(page.messages.length, values.length);
      page.messages.forEach((m, i) => {
        const v = values[i]!;
        assert.deepEqual([m.deviceId, m.tenant, m.generationId, m.messageId, m.correlationId, m.contentType, m.contentEncoding, m.properties, m.authMethod.policy],
          [`dev ${v}`, v, v, v, v, v, v, { [v]: v }, v], JSON.stringify(v));
      });
    } finally {
      await log.close();
    }
  }));

test('a message another writer stores below a horizon already handed out is reported (clocks apart, or appends slower than the margin)', (t) =>
  withNats(t, async (prefix) => {
    const problems = errors();
    const log = await open(prefix, { partitions: 1, onError: problems.onError });
    const nc = await connect({ servers: NATS_URL });
    try {
      const h = log.horizon();
      // Another gateway whose clock is 5 s behind.
      const hdrs = headers();
      for (const [k, v] of [['Omni-Device-Id', 'd'], ['Omni-Tenant', 'default'], ['Omni-Generation-Id', '1'], ['Omni-Auth', 'device'], ['Omni-Body-Json', '0'], ['Omni-Enqueued', String(h - 5_000)]]) hdrs.set(k!, v!);
      await jetstream(nc).publish(subjectOf(prefix, 0), 'late', { headers: hdrs });
      for (const deadline = Date.now() + 2_000; problems.list.length === 0 && Date.now() < deadline;) await new Promise((res) => setTimeout(res, 10));
      assert.match(problems.list.join('\n'), /1 message\(s\) landed in the log below a horizon already handed out \(by up to 5\d{3} ms\)/);
      const [m] = (await log.read(0, { kind: 'earliest' }, 1)).messages;
      assert.equal(m?.body.toString(), 'late');
    } finally {
      await nc.close();
      await log.close();
    }
  }));

test("a reader whose consumer the server dropped (inactivity, a restart) goes on with a new one", (t) =>
  withNats(t, async (prefix) => {
    const log = await open(prefix, { partitions: 1 });
    const nc = await connect({ servers: NATS_URL });
    try {
      await log.append(['0', '1', '2', '3'].map((b) => msg('d', b)));
      assert.deepEqual((await log.read(0, { kind: 'earliest' }, 2)).messages.map((m) => m.body.toString()), ['0', '1']);
      const jsm = await jetstreamManager(nc);
      for await (const c of jsm.consumers.list(streamName(prefix, 0))) if (!c.config.headers_only) await jsm.consumers.delete(streamName(prefix, 0), c.name);
      const page = await log.read(0, { kind: 'sequence', sequenceNumber: 2 }, 2);
      assert.deepEqual(page.messages.map((m) => m.body.toString()), ['2', '3']);
      assert.equal(page.nextSequenceNumber, 4);
    } finally {
      await nc.close();
      await log.close();
    }
  }));
