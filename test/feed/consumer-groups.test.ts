// Consumer groups through the real server: exactly-once per group with checkpoints, redelivery of
// what was not committed, readers sharing a group, long-polls, start positions, lag, retention.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { msg } from '../log/event-log.contract.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { bodyText, commit, createDevices, drain, pull, putGroup, sendFromDevices, service, sleep, type WireMessage } from './feed-client.js';

async function withServer(body: (s: TestServer) => Promise<void>, settings: Record<string, unknown> = {}): Promise<void> {
  const s = await startTestServer(settings);
  try {
    await body(s);
  } finally {
    await s.stop();
  }
}

/** Each body once, and each device's messages in the order it sent them. */
function assertExactlyOnce(received: WireMessage[], sent: string[]): void {
  const bodies = received.map(bodyText);
  assert.equal(new Set(bodies).size, bodies.length, 'no message delivered twice');
  assert.deepEqual([...bodies].sort(), [...sent].sort());
  const lastIndex = new Map<string, number>();
  for (const m of received) {
    const { device, i } = m.body as { device: string; i: number };
    assert.ok(i > (lastIndex.get(device) ?? -1), `${device} in order`);
    lastIndex.set(device, i);
  }
}

describe('consumer groups', () => {
  test('every message from many concurrent devices is read exactly once per group, and groups read independently', () =>
    withServer(async (s) => {
      const devices = await createDevices(s, 24);
      assert.equal((await putGroup(s, 'recommendations')).status, 201);
      const sent = await sendFromDevices(s, devices, 25);
      assert.equal(sent.length, 600);
      const recs = await drain(s, 'recommendations', { max: 37 });
      assertExactlyOnce(recs, sent);
      // The other group has not moved: it reads everything too, in pages of another size.
      const analytics = await drain(s, '$Default', { max: 100, reader: 'analytics-1' });
      assertExactlyOnce(analytics, sent);
      const more = await sendFromDevices(s, devices.slice(0, 3), 2, 'second');
      assertExactlyOnce(await drain(s, 'recommendations', { max: 1000 }), more);
      assertExactlyOnce(await drain(s, '$Default', { max: 1000, reader: 'analytics-1' }), more);
    }));

  test('a page is fair between partitions and keeps each partition\'s order', () =>
    withServer(async (s) => {
      const [busy, quiet] = await Promise.all([s.createDevice('busy-0'), s.createDevice('quiet-2')]);
      assert.notEqual((await s.log.append([msg(busy!.deviceId, '{}')]))[0]!.partition, (await s.log.append([msg(quiet!.deviceId, '{}')]))[0]!.partition);
      await s.log.append(Array.from({ length: 300 }, (_, i) => msg(busy!.deviceId, JSON.stringify({ i }))));
      await s.log.append(Array.from({ length: 3 }, (_, i) => msg(quiet!.deviceId, JSON.stringify({ i }))));
      const page = await pull(s, '$Default', { max: 50 });
      assert.equal(page.messages.length, 50);
      const fromQuiet = page.messages.filter((m) => m.deviceId === quiet!.deviceId);
      assert.equal(fromQuiet.length, 4, 'the quiet partition is not starved by the busy one');
      for (const id of [busy!.deviceId, quiet!.deviceId]) {
        const seqs = page.messages.filter((m) => m.deviceId === id).map((m) => m.sequenceNumber);
        assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
      }
      // The busy partition was topped up after the quiet one was read; its messages still come together.
      const runs = page.messages.map((m) => m.partition).filter((p, i, all) => i === 0 || p !== all[i - 1]);
      assert.equal(new Set(runs).size, runs.length, `each partition's messages together: ${runs.join(',')}`);
    }, { log: { partitions: 4 } }));

  test('reading again without a checkpoint continues; what was never committed comes again after a restart', async () => {
    let s = await startTestServer();
    const dataDir = s.dataDir;
    try {
      const devices = await createDevices(s, 4);
      const sent = await sendFromDevices(s, devices, 10);
      const first = await pull(s, '$Default', { max: 15 });
      await commit(s, '$Default', first.cursor);
      const second = await pull(s, '$Default', { max: 15 });
      assert.equal(second.messages.length, 15);
      assert.deepEqual(second.messages.filter((m) => first.messages.some((f) => bodyText(f) === bodyText(m))), [], 'continues after what was handed out');
      await s.close();
      s = await startTestServer({}, dataDir);
      const after = await drain(s, '$Default', { max: 100 });
      assert.equal(after.length, 25, 'the 15 handed out but not committed come again, with the 10 never read');
      assertExactlyOnce([...first.messages, ...after], sent);
      // The old cursor still commits after the restart (same generation, same key).
      await commit(s, '$Default', second.cursor);
    } finally {
      await s.stop();
    }
  });

  test('what a reader leaves uncommitted comes again once its lease lapses', () =>
    withServer(async (s) => {
      const devices = await createDevices(s, 2);
      const sent = await sendFromDevices(s, devices, 5);
      const handed = await pull(s, '$Default', { max: 100, lease_ms: 1000 });
      assert.equal(handed.messages.length, 10);
      assert.equal((await pull(s, '$Default', { max: 100, lease_ms: 1000 })).messages.length, 0);
      await sleep(1100);
      assertExactlyOnce(await drain(s, '$Default', { max: 100 }), sent);
    }));

  test('two readers of one group split the partitions, and one takes over when the other stops', () =>
    withServer(async (s) => {
      const devices = await createDevices(s, 16);
      const sent = await sendFromDevices(s, devices, 3);
      const got: Record<string, WireMessage[]> = { a: [], b: [] };
      const step = async (reader: string) => {
        const page = await pull(s, 'shared', { reader, max: 5, lease_ms: 1000 });
        got[reader]!.push(...page.messages);
        await commit(s, 'shared', page.cursor);
        return page;
      };
      assert.equal((await putGroup(s, 'shared')).status, 201);
      await step('a'); // a alone: holds every partition
      await step('b'); // b joins: nothing free yet
      await step('a'); // a gives up its excess
      await step('b'); // b takes the free half
      const status = (await (await s.fetch('/api/consumergroups/shared', { headers: service(s) })).json()) as { partitions: Array<{ lease: { reader: string } | null }> };
      const holders = status.partitions.map((p) => p.lease?.reader);
      assert.deepEqual(holders.filter((h) => h === 'a').length, 2, holders.join());
      assert.deepEqual(holders.filter((h) => h === 'b').length, 2, holders.join());
      const partitionsOf = (r: string) => new Set(got[r]!.slice(-5).map((m) => m.partition));
      for (const p of partitionsOf('b')) assert.ok(!partitionsOf('a').has(p), 'no partition read by both at once');
      // a stops polling; after its lease lapses b gets every partition and reads the rest.
      await sleep(1100);
      for (let i = 0; i < 40 && got.a!.length + got.b!.length < sent.length; i++) await step('b');
      assertExactlyOnce([...got.a!, ...got.b!].sort((x, y) => x.partition - y.partition || x.sequenceNumber - y.sequenceNumber), sent);
    }));

  test('a reader that leaves hands its partitions over at once, to a reader already waiting for them', () =>
    withServer(async (s) => {
      const devices = await createDevices(s, 16);
      const sent = await sendFromDevices(s, devices, 2);
      const holders = async () => ((await (await s.fetch('/api/consumergroups/$Default', { headers: service(s) })).json()) as { partitions: Array<{ lease: { reader: string } | null }> }).partitions.map((p) => p.lease?.reader);
      // a reads a page of every partition and leaves without committing; b is already waiting.
      const first = await pull(s, '$Default', { reader: 'a', max: 4, lease_ms: 60_000 });
      assert.equal(first.messages.length, 4);
      const started = Date.now();
      const waiting = pull(s, '$Default', { reader: 'b', max: 1000, wait_ms: 10_000 });
      await sleep(100);
      const leave = await s.fetch('/api/consumergroups/$Default/readers/a', { method: 'DELETE', headers: service(s) });
      assert.equal(leave.status, 204);
      const page = await waiting;
      assert.ok(Date.now() - started < 5_000, 'b did not wait for a\'s 60 s lease');
      assert.deepEqual(await holders(), ['b', 'b', 'b', 'b']);
      // What a was handed but never committed comes again: b reads every message.
      const rest = await drain(s, '$Default', { reader: 'b', max: 1000 });
      await commit(s, '$Default', page.cursor);
      assertExactlyOnce([...page.messages, ...rest].sort((x, y) => x.partition - y.partition || x.sequenceNumber - y.sequenceNumber), sent);
      const again = await s.fetch('/api/consumergroups/$Default/readers/a', { method: 'DELETE', headers: service(s) });
      assert.equal(again.status, 404);
      assert.equal(((await again.json()) as { error: { code: string } }).error.code, 'reader_not_found');
    }));

  test('a reader joining a group whose partitions are held by a long-polling reader gets its share at once', () =>
    withServer(async (s) => {
      const [d] = await createDevices(s, 1);
      const status = async () => ((await (await s.fetch('/api/consumergroups/$Default', { headers: service(s) })).json()) as { partitions: Array<{ lease: { reader: string } | null }> }).partitions.map((p) => p.lease?.reader);
      const a = pull(s, '$Default', { reader: 'a', wait_ms: 2_000 });
      await sleep(100);
      assert.deepEqual(await status(), ['a', 'a', 'a', 'a']);
      const b = pull(s, '$Default', { reader: 'b', wait_ms: 2_000 });
      await sleep(300);
      assert.deepEqual(await status(), ['a', 'a', 'b', 'b'], 'split while both polls are open');
      await sendFromDevices(s, [d!], 1, 'end');
      const pages = await Promise.all([a, b]);
      assert.equal(pages[0].messages.length + pages[1].messages.length, 1);
    }));

  test('a long-poll returns as soon as a message arrives', () =>
    withServer(async (s) => {
      const [d] = await createDevices(s, 1);
      const started = Date.now();
      const waiting = pull(s, '$Default', { wait_ms: 10_000 });
      await sleep(300);
      await sendFromDevices(s, [d!], 1, 'wake');
      const page = await waiting;
      const elapsed = Date.now() - started;
      assert.equal(page.messages.length, 1);
      assert.deepEqual(page.messages[0]!.body, { device: d!.deviceId, i: 0, tag: 'wake' });
      assert.ok(elapsed >= 250 && elapsed < 2_000, `returned after ${elapsed} ms`);
      const empty = Date.now();
      assert.equal((await pull(s, '$Default', { wait_ms: 300 })).messages.length, 0);
      assert.ok(Date.now() - empty >= 280, 'an empty long-poll waits its time');
    }));

  test('closing the server releases a waiting long-poll at once', async () => {
    const s = await startTestServer();
    try {
      const started = Date.now();
      const waiting = pull(s, '$Default', { wait_ms: 30_000 });
      await sleep(200);
      await s.close();
      assert.deepEqual((await waiting).messages, []);
      assert.ok(Date.now() - started < 3_000, `close took ${Date.now() - started} ms`);
    } finally {
      await s.stop();
    }
  });

  test('groups are created, listed, inspected, repositioned and deleted; $Default always exists', () =>
    withServer(async (s) => {
      const [d] = await createDevices(s, 1);
      await sendFromDevices(s, [d!], 3, 'before');
      await sleep(20);
      const middle = new Date().toISOString();
      await sleep(20);
      await sendFromDevices(s, [d!], 2, 'after');
      assert.equal((await putGroup(s, 'from-latest', { startFrom: 'latest' })).status, 201);
      assert.equal((await putGroup(s, 'from-time', { startFrom: middle })).status, 201);
      assert.equal((await putGroup(s, 'from-earliest', { startFrom: 'earliest' })).status, 201);
      assert.equal((await putGroup(s, 'from-earliest')).status, 200, 'PUT on an existing group without a body leaves it');
      const list = (await (await s.fetch('/api/consumergroups', { headers: service(s) })).json()) as { consumerGroups: Array<{ name: string }> };
      assert.deepEqual(list.consumerGroups.map((g) => g.name), ['$Default', 'from-earliest', 'from-latest', 'from-time']);
      const tags = async (g: string) => (await drain(s, g)).map((m) => (m.body as { tag: string; i: number }).tag + (m.body as { i: number }).i);
      assert.deepEqual(await tags('from-latest'), []);
      assert.deepEqual(await tags('from-time'), ['after0', 'after1']);
      assert.deepEqual(await tags('from-earliest'), ['before0', 'before1', 'before2', 'after0', 'after1']);
      // Repositioning makes cursors handed out before it stale.
      const old = await pull(s, '$Default', { max: 1 });
      assert.equal((await putGroup(s, '$Default', { startFrom: middle })).status, 200);
      const res = await s.fetch('/api/consumergroups/$Default/checkpoint', { method: 'POST', headers: service(s), body: JSON.stringify({ cursor: old.cursor }) });
      assert.equal(res.status, 409);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'stale_cursor');
      assert.deepEqual(await tags('$Default'), ['after0', 'after1']);
      assert.equal((await s.fetch('/api/consumergroups/from-time', { method: 'DELETE', headers: service(s) })).status, 204);
      assert.equal((await s.fetch('/api/consumergroups/from-time', { headers: service(s) })).status, 404);
      const def = await s.fetch('/api/consumergroups/$Default', { method: 'DELETE', headers: service(s) });
      assert.equal(def.status, 400);
      assert.equal((await s.fetch('/api/consumergroups/$Default', { headers: service(s) })).status, 200);
    }));

  test('lag per partition in the group and in /metrics', () =>
    withServer(async (s) => {
      const [d] = await createDevices(s, 1);
      await sendFromDevices(s, [d!], 6);
      await sleep(50);
      assert.equal((await putGroup(s, 'lagging')).status, 201);
      const page = await pull(s, 'lagging', { max: 2 });
      await commit(s, 'lagging', page.cursor);
      const status = (await (await s.fetch('/api/consumergroups/lagging', { headers: service(s) })).json()) as { partitions: Array<Record<string, unknown>> };
      const p = status.partitions.find((x) => x.partitionId === String(page.messages[0]!.partition))!;
      assert.equal(p.committedSequenceNumber, 1);
      assert.equal(p.lastEnqueuedSequenceNumber, 5);
      assert.equal(p.lagMessages, 4);
      assert.ok((p.lagSeconds as number) >= 0.04 && (p.lagSeconds as number) < 10, String(p.lagSeconds));
      assert.ok(status.partitions.filter((x) => x !== p).every((x) => x.lagMessages === 0 && x.lagSeconds === 0));
      const line = `omnistream_consumer_group_lag_messages{group="lagging",partition="${p.partitionId}"} 4`;
      let metrics = '';
      for (let i = 0; i < 50 && !metrics.includes(line); i++) {
        await sleep(20);
        metrics = await (await s.fetch('/metrics')).text();
      }
      assert.ok(metrics.includes(line), metrics);
      assert.match(metrics, new RegExp(`omnistream_consumer_group_lag_seconds\\{group="lagging",partition="${p.partitionId}"\\} \\d`));
      // A deleted group's series go away with it.
      assert.equal((await s.fetch('/api/consumergroups/lagging', { method: 'DELETE', headers: service(s) })).status, 204);
      for (let i = 0; i < 50 && metrics.includes('group="lagging"'); i++) {
        await sleep(20);
        metrics = await (await s.fetch('/metrics')).text();
      }
      assert.doesNotMatch(metrics, /group="lagging"/);
      assert.match(metrics, /omnistream_consumer_group_lag_messages\{group="\$Default",partition="0"\} \d/);
    }));

  test('retention removes expired messages; groups and checkpoints behind it move to the earliest', () =>
    withServer(async (s) => {
      const [d] = await createDevices(s, 1);
      await sendFromDevices(s, [d!], 4, 'old');
      const before = await pull(s, '$Default', { max: 1 });
      await commit(s, '$Default', before.cursor);
      await sleep(1100);
      await sendFromDevices(s, [d!], 2, 'new');
      const { deletedMessages } = await s.log.applyRetention(new Date());
      assert.equal(deletedMessages, 4);
      const status = (await (await s.fetch('/api/consumergroups/$Default', { headers: service(s) })).json()) as { partitions: Array<Record<string, number | string>> };
      const p = status.partitions.find((x) => x.partitionId === String(before.messages[0]!.partition))!;
      assert.equal(p.committedSequenceNumber, 3, 'the checkpoint behind retention counts from the earliest retained message');
      assert.equal(p.lagMessages, 2);
      const rest = await drain(s, '$Default');
      assert.deepEqual(rest.map((m) => [m.sequenceNumber, (m.body as { tag: string }).tag]), [[4, 'new'], [5, 'new']]);
    }, { log: { retention: '1s' } }));
});
