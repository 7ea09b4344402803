// The behaviour every EventLog backend must have. Each backend's test calls eventLogContract.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OmniError } from '../../src/core/errors.js';
import { partitionFor, type NewMessage } from '../../src/core/message.js';
import type { EventLog, EventLogOptions, SharedFields } from '../../src/log/event-log.js';
import { contractSuite, type Backend } from '../helpers/backend.js';

export interface LogFactory {
  /** Opens a log; the same `store` name reopens the same data. */
  open(options: Partial<EventLogOptions>, store: string): Promise<EventLog>;
  cleanup(): Promise<void>;
}

const DEFAULTS: EventLogOptions = { partitions: 4, retentionMs: 86_400_000, dedupWindowMs: 86_400_000, maxPendingMessages: 100_000 };

export function msg(deviceId: string, body: string | Buffer, extra: Partial<NewMessage> = {}): NewMessage {
  return {
    deviceId,
    tenant: 'default',
    generationId: '1',
    authMethod: { scope: 'device', type: 'sas', issuer: 'iothub' },
    body: typeof body === 'string' ? Buffer.from(body) : body,
    properties: {},
    ...extra,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function eventLogContract(backend: Backend<LogFactory>): Promise<void> {
  return contractSuite('EventLog', backend, (factory) => {
    let store = 0;
    async function withLog(options: Partial<EventLogOptions>, body: (log: EventLog, reopen: () => Promise<EventLog>) => Promise<void>) {
      const f = await factory();
      const id = `s${store++}`;
      const opened: EventLog[] = [];
      const open = async () => {
        const l = await f.open({ ...DEFAULTS, ...options }, id);
        opened.push(l);
        return l;
      };
      try {
        await body(await open(), async () => {
          await opened[opened.length - 1]!.close();
          return open();
        });
      } finally {
        for (const l of opened) await l.close();
        await f.cleanup();
      }
    }

    test('appends get per-partition sequence numbers, offsets and enqueue times; one device keeps its order', () =>
      withLog({}, async (log) => {
        const results = await log.append([msg('d1', 'a'), msg('d2', 'b'), msg('d1', 'c')]);
        assert.equal(results.length, 3);
        assert.equal(results[0]!.partition, partitionFor('d1', 4));
        assert.equal(results[1]!.partition, partitionFor('d2', 4));
        assert.ok(results[2]!.sequenceNumber > results[0]!.sequenceNumber);
        assert.equal(results[0]!.sequenceNumber, 0);
        assert.equal(typeof results[0]!.offset, 'string');
        assert.ok(results.every((r) => !r.duplicate && r.enqueuedTimeUtc instanceof Date));
        const page = await log.read(results[0]!.partition, { kind: 'earliest' }, 10);
        const d1 = page.messages.filter((m) => m.deviceId === 'd1').map((m) => m.body.toString());
        assert.deepEqual(d1, ['a', 'c']);
      }));

    test('every field round-trips, binary bodies included', () =>
      withLog({}, async (log) => {
        const body = Buffer.from([0, 255, 1, 254, 10, 13]);
        const [r] = await log.append([msg('dev', body, {
          tenant: 'brand-a', generationId: '638000', messageId: 'm1', correlationId: 'c1', contentType: 'application/json', contentEncoding: 'utf-8',
          properties: { k: 'v', 'with space': 'x/y' }, authMethod: { scope: 'hub', type: 'sas', issuer: 'iothub', policy: 'device' },
        })]);
        const [m] = (await log.read(r!.partition, { kind: 'sequence', sequenceNumber: r!.sequenceNumber }, 1)).messages;
        assert.ok(m);
        assert.deepEqual(m.body, body);
        assert.equal(m.tenant, 'brand-a');
        assert.equal(m.generationId, '638000');
        assert.equal(m.messageId, 'm1');
        assert.equal(m.correlationId, 'c1');
        assert.equal(m.contentType, 'application/json');
        assert.equal(m.contentEncoding, 'utf-8');
        assert.deepEqual(m.properties, { k: 'v', 'with space': 'x/y' });
        assert.deepEqual(m.authMethod, { scope: 'hub', type: 'sas', issuer: 'iothub', policy: 'device' });
        assert.equal(m.offset, r!.offset);
        assert.equal(m.enqueuedTimeUtc.getTime(), r!.enqueuedTimeUtc.getTime());
      }));

    test('concurrent appends all commit, with gap-free sequence numbers per partition', () =>
      withLog({}, async (log) => {
        const calls = Array.from({ length: 200 }, (_, i) => log.append([msg(`dev-${i % 17}`, `m${i}`), msg(`dev-${i % 5}`, `n${i}`)]));
        const results = (await Promise.all(calls)).flat();
        assert.equal(results.length, 400);
        for (let p = 0; p < 4; p++) {
          const seqs = results.filter((r) => r.partition === p).map((r) => r.sequenceNumber).sort((a, b) => a - b);
          assert.deepEqual(seqs, seqs.map((_, i) => i), `partition ${p}`);
        }
        const info = await log.partitions();
        assert.equal(info.reduce((n, p) => n + p.lastEnqueuedSequenceNumber + 1, 0), 400);
      }));

    test('reads start from a sequence number, after an offset, at a time or at the earliest; past the end is an empty page', () =>
      withLog({ partitions: 1 }, async (log) => {
        const first = await log.append([msg('d', '0'), msg('d', '1'), msg('d', '2')]);
        await sleep(15);
        const later = await log.append([msg('d', '3'), msg('d', '4')]);
        const bodies = async (from: Parameters<EventLog['read']>[1], max = 100) => (await log.read(0, from, max)).messages.map((m) => m.body.toString());
        assert.deepEqual(await bodies({ kind: 'earliest' }), ['0', '1', '2', '3', '4']);
        assert.deepEqual(await bodies({ kind: 'sequence', sequenceNumber: 2 }, 2), ['2', '3']);
        assert.deepEqual(await bodies({ kind: 'afterOffset', offset: first[1]!.offset }), ['2', '3', '4']);
        assert.deepEqual(await bodies({ kind: 'time', time: later[0]!.enqueuedTimeUtc }), ['3', '4']);
        const end = await log.read(0, { kind: 'sequence', sequenceNumber: 99 }, 10);
        assert.deepEqual(end.messages, []);
        assert.equal(end.startedAtEarliest, false);
        assert.deepEqual(await bodies({ kind: 'time', time: new Date(Date.now() + 60_000) }), []);
        const page = await log.read(0, { kind: 'earliest' }, 2);
        assert.equal(page.nextSequenceNumber, 2);
      }));

    test('an unknown partition is an error with its own code', () =>
      withLog({}, async (log) => {
        await assert.rejects(log.read(4, { kind: 'earliest' }, 1), (e: unknown) => e instanceof OmniError && e.code === 'partition_not_found');
        await assert.rejects(log.read(-1, { kind: 'earliest' }, 1), (e: unknown) => e instanceof OmniError && e.code === 'partition_not_found');
        await assert.rejects(log.scan(4, { kind: 'earliest' }, 1, () => {}), (e: unknown) => e instanceof OmniError && e.code === 'partition_not_found');
      }));

    test('a scan hands over exactly what a read returns, from every kind of start', () =>
      withLog({ partitions: 1 }, async (log) => {
        const hub = { scope: 'hub', type: 'sas', issuer: 'iothub', policy: 'service' } as const;
        const first = await log.append([
          msg('d', '{"a":[1,"ü"]}', { properties: { k: 'v', 'with space': 'x"y' } }),
          msg('d', Buffer.from([0xff, 0x00, 0xc3, 0x28]), { messageId: 'm-1' }),
          msg('e', ' 42 ', { contentType: 'application/json; charset=utf-8', contentEncoding: 'utf-8', correlationId: 'c-1', authMethod: hub }),
          msg('e', '{}', { contentType: 'text/plain', messageId: 'm-2', correlationId: '' }),
        ]);
        await sleep(15);
        const later = await log.append([msg('d', '"x"', { tenant: 'brand-a', generationId: '7' })]);
        const froms: Array<Parameters<EventLog['read']>[1]> = [
          { kind: 'earliest' }, { kind: 'sequence', sequenceNumber: 1 }, { kind: 'afterOffset', offset: first[2]!.offset },
          { kind: 'time', time: later[0]!.enqueuedTimeUtc }, { kind: 'sequence', sequenceNumber: 99 },
        ];
        for (const from of froms) {
          for (const max of [2, 100]) {
            const page = await log.read(0, from, max);
            const seen: unknown[] = [];
            const result = await log.scan(0, from, max, (seq, enqueuedMs, shared, messageId, correlationId, body) => {
              assert.equal(typeof body === 'string', shared.bodyIsJson === true, 'a body is text exactly when it is known to be JSON');
              seen.push({
                seq, enqueuedMs, deviceId: shared.deviceId, tenant: shared.tenant, generationId: shared.generationId, authMethod: shared.authMethod,
                contentType: shared.contentType, contentEncoding: shared.contentEncoding, properties: JSON.parse(shared.propertiesJson),
                messageId, correlationId, body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
              });
            });
            assert.deepEqual(seen, page.messages.map((m) => ({
              seq: m.sequenceNumber, enqueuedMs: m.enqueuedTimeUtc.getTime(), deviceId: m.deviceId, tenant: m.tenant, generationId: m.generationId,
              authMethod: m.authMethod, contentType: m.contentType, contentEncoding: m.contentEncoding, properties: m.properties,
              messageId: m.messageId, correlationId: m.correlationId, body: m.body,
            })), JSON.stringify({ from, max }));
            assert.deepEqual(result, { count: page.messages.length, startedAtEarliest: page.startedAtEarliest, nextSequenceNumber: page.nextSequenceNumber });
            for (const m of page.messages) assert.equal(m.offset, String(m.sequenceNumber), 'what a scan leaves out, the feed derives');
          }
        }
      }));

    test('a visitor that returns false ends the scan after that message; the next scan goes on from there', () =>
      withLog({ partitions: 1 }, async (log) => {
        await log.append(Array.from({ length: 6 }, (_, i) => msg('d', String(i))));
        const seen: number[] = [];
        const first = await log.scan(0, { kind: 'earliest' }, 100, (seq) => { seen.push(seq); return seen.length < 2; });
        assert.deepEqual([seen, first], [[0, 1], { count: 2, startedAtEarliest: false, nextSequenceNumber: 2 }]);
        const rest = await log.scan(0, { kind: 'sequence', sequenceNumber: first.nextSequenceNumber }, 100, (seq) => { seen.push(seq); });
        assert.deepEqual([seen, rest.count, rest.nextSequenceNumber], [[0, 1, 2, 3, 4, 5], 4, 6]);
      }));

    test('a scan shares one SharedFields object between messages with the same fields, and only between them', () =>
      withLog({ partitions: 1 }, async (log) => {
        // Pairs that a careless key (fields joined by a separator, null read as empty) would confuse.
        await log.append([
          msg('a', '1', { contentType: 'x', contentEncoding: 'y' }),
          msg('a', '2', { contentType: 'x', contentEncoding: 'y' }),
          msg('a', '3', { contentType: 'x","y' }),
          msg('a', '4', { contentType: '' }),
          msg('a', '5'),
          msg('a', '6', { properties: { p: '1' } }),
          msg('a', '7', { properties: { p: '1' } }),
          msg('a\u0001b', '8'),
          msg('a', '9', { tenant: '\u0001b' }),
        ]);
        const shared: SharedFields[] = [];
        await log.scan(0, { kind: 'earliest' }, 100, (_seq, _ms, f) => void shared.push(f));
        assert.equal(shared.length, 9);
        assert.equal(shared[0], shared[1]);
        assert.equal(shared[5], shared[6]);
        assert.equal(new Set(shared).size, 7);
        assert.deepEqual(shared.map((f) => [f.deviceId, f.tenant, f.contentType, f.contentEncoding, f.propertiesJson]), [
          ['a', 'default', 'x', 'y', '{}'], ['a', 'default', 'x', 'y', '{}'], ['a', 'default', 'x","y', undefined, '{}'], ['a', 'default', '', undefined, '{}'],
          ['a', 'default', undefined, undefined, '{}'], ['a', 'default', undefined, undefined, '{"p":"1"}'], ['a', 'default', undefined, undefined, '{"p":"1"}'],
          ['a\u0001b', 'default', undefined, undefined, '{}'], ['a', '\u0001b', undefined, undefined, '{}'],
        ]);
      }));

    test('a repeated messageId from the same device is acknowledged and stored once', () =>
      withLog({}, async (log) => {
        const [a] = await log.append([msg('d', 'first', { messageId: 'm-1' })]);
        const [b, c] = await log.append([msg('d', 'retry', { messageId: 'm-1' }), msg('other', 'x', { messageId: 'm-1' })]);
        assert.equal(a!.duplicate, false);
        assert.equal(b!.duplicate, true);
        assert.equal(b!.sequenceNumber, a!.sequenceNumber);
        assert.equal(b!.offset, a!.offset);
        assert.equal(c!.duplicate, false, 'another device may use the same messageId');
        const [x, y] = await log.append([msg('d', 'p', { messageId: 'same-batch' }), msg('d', 'q', { messageId: 'same-batch' })]);
        assert.equal(x!.duplicate, false);
        assert.equal(y!.duplicate, true);
        const stored = (await log.read(a!.partition, { kind: 'earliest' }, 100)).messages.filter((m) => m.deviceId === 'd');
        assert.deepEqual(stored.map((m) => m.body.toString()), ['first', 'p']);
      }));

    test('after the dedup window the same messageId is stored again', () =>
      withLog({ dedupWindowMs: 20 }, async (log) => {
        await log.append([msg('d', 'one', { messageId: 'm' })]);
        await sleep(40);
        const [again] = await log.append([msg('d', 'two', { messageId: 'm' })]);
        assert.equal(again!.duplicate, false);
      }));

    test('partition info uses Event Hubs names', () =>
      withLog({ partitions: 2 }, async (log) => {
        const empty = await log.partitions();
        assert.deepEqual(empty[0], { partitionId: '0', beginningSequenceNumber: 0, lastEnqueuedSequenceNumber: -1, lastEnqueuedOffset: '-1', lastEnqueuedOnUtc: null, isEmpty: true });
        const [r] = await log.append([msg('x', '1')]);
        const info = (await log.partitions())[r!.partition]!;
        assert.equal(info.isEmpty, false);
        assert.equal(info.lastEnqueuedSequenceNumber, 0);
        assert.equal(info.lastEnqueuedOffset, r!.offset);
        assert.equal(info.lastEnqueuedOnUtc, r!.enqueuedTimeUtc.toISOString());
      }));

    test('retention removes expired messages; reads behind it start at the earliest and say so; sequence numbers are never reused', () =>
      withLog({ partitions: 1, retentionMs: 50 }, async (log, reopen) => {
        await log.append([msg('d', 'old-0'), msg('d', 'old-1')]);
        await sleep(80);
        await log.append([msg('d', 'new-2')]);
        const { deletedMessages } = await log.applyRetention(new Date());
        assert.equal(deletedMessages, 2);
        const page = await log.read(0, { kind: 'sequence', sequenceNumber: 0 }, 10);
        assert.equal(page.startedAtEarliest, true);
        const scanned: number[] = [];
        assert.deepEqual(await log.scan(0, { kind: 'sequence', sequenceNumber: 0 }, 10, (seq) => void scanned.push(seq)), { count: 1, startedAtEarliest: true, nextSequenceNumber: 3 });
        assert.deepEqual(scanned, [2]);
        assert.deepEqual(page.messages.map((m) => [m.sequenceNumber, m.body.toString()]), [[2, 'new-2']]);
        const info = (await log.partitions())[0]!;
        assert.equal(info.beginningSequenceNumber, 2);
        await sleep(80);
        await log.applyRetention(new Date());
        assert.equal((await log.partitions())[0]!.isEmpty, true);
        const reopened = await reopen();
        const [next] = await reopened.append([msg('d', 'after')]);
        assert.equal(next!.sequenceNumber, 3);
      }));

    test('appends waiting at close are committed before close resolves', () =>
      withLog({}, async (log, reopen) => {
        const pending = log.append([msg('d', 'late')]);
        const closing = log.close();
        const [r] = await pending;
        await closing;
        await assert.rejects(log.append([msg('d', 'x')]), (e: unknown) => e instanceof OmniError && e.code === 'shutting_down');
        const reopened = await reopen();
        const page = await reopened.read(r!.partition, { kind: 'earliest' }, 10);
        assert.deepEqual(page.messages.map((m) => m.body.toString()), ['late']);
      }));

    test('too many waiting appends are refused with overloaded, and nothing of them is stored', () =>
      withLog({ maxPendingMessages: 3 }, async (log) => {
        const ok = log.append([msg('d', '1'), msg('d', '2')]);
        await assert.rejects(log.append([msg('d', '3'), msg('d', '4')]), (e: unknown) => e instanceof OmniError && e.code === 'overloaded' && e.retryAfterSeconds === 1);
        await ok;
        const total = (await log.partitions()).reduce((n, p) => n + p.lastEnqueuedSequenceNumber + 1, 0);
        assert.equal(total, 2);
      }));

    test('the horizon: everything enqueued before it is readable, nothing appended later is enqueued before it, and it rises', () =>
      withLog({ partitions: 4 }, async (log) => {
        const wall = Date.now();
        const idle = log.horizon();
        assert.ok(idle >= wall, 'with nothing in flight it is the wall-clock time');
        let last = idle;
        for (let round = 0; round < 20; round++) {
          // Appends in flight while the horizon is read: they must land at or after it.
          const inFlight = log.append(Array.from({ length: 1 + (round % 5) }, (_, i) => msg(`dev-${round}-${i}`, `${round}.${i}`)));
          const h = log.horizon();
          assert.ok(h >= last, 'the horizon never goes back');
          // Once committed but perhaps not yet acknowledged (an fsync under way), the horizon must stay before it.
          await new Promise((resolve) => setImmediate(resolve));
          const committed = log.horizon();
          const seen = new Set<string>();
          for (let p = 0; p < log.partitionCount; p++) {
            for (const m of (await log.read(p, { kind: 'earliest' }, 1000)).messages) seen.add(`${p}/${m.sequenceNumber}`);
          }
          last = committed;
          const results = await inFlight;
          for (const r of results) {
            assert.ok(r.enqueuedTimeUtc.getTime() >= h, `enqueued ${r.enqueuedTimeUtc.getTime()} before the horizon ${h} read while it was in flight`);
            if (r.enqueuedTimeUtc.getTime() < committed) assert.ok(seen.has(`${r.partition}/${r.sequenceNumber}`), 'a message before the horizon was not readable');
          }
          const after = log.horizon();
          let readable = 0;
          for (let p = 0; p < log.partitionCount; p++) {
            const page = await log.read(p, { kind: 'earliest' }, 1000);
            readable += page.messages.filter((m) => m.enqueuedTimeUtc.getTime() < after).length;
          }
          const appended = (await log.partitions()).reduce((n, p) => n + p.lastEnqueuedSequenceNumber + 1, 0);
          assert.ok(readable <= appended);
          assert.ok(after >= Math.max(...results.map((r) => r.enqueuedTimeUtc.getTime())), 'once acknowledged, an append is behind the horizon');
        }
        // Enqueue times rise across partitions in commit order, so a merge by enqueue time is one order.
        const all: number[][] = [];
        for (let p = 0; p < log.partitionCount; p++) {
          for (const m of (await log.read(p, { kind: 'earliest' }, 1000)).messages) all.push([Number(m.body.toString().split('.')[0]), m.enqueuedTimeUtc.getTime()]);
        }
        all.sort((a, b) => a[0]! - b[0]!);
        for (let i = 1; i < all.length; i++) assert.ok(all[i]![1]! >= all[i - 1]![1]!, 'a later append is never enqueued before an earlier one');
      }));

    test('listeners hear which partitions an append touched', () =>
      withLog({}, async (log) => {
        const heard: number[][] = [];
        const off = log.onAppend((ps) => heard.push([...ps]));
        const [r] = await log.append([msg('d', 'x')]);
        off();
        await log.append([msg('d', 'y')]);
        assert.deepEqual(heard, [[r!.partition]]);
      }));
  });
}
