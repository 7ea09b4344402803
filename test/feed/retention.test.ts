// Retention as an operator relies on it: the server's own timer deletes expired messages while it
// serves, readers see them gone through the feed, and positions are never handed out twice.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { putGroup, pull, service, sleep, type WireMessage } from './feed-client.js';

const RETENTION = { retention: '1s', retentionInterval: '100ms' };

interface PartitionInfo { partitionId: string; beginningSequenceNumber: number; lastEnqueuedSequenceNumber: number; isEmpty: boolean }
interface PartitionPage { startedAtEarliest: boolean; nextSequenceNumber: number; messages: WireMessage[] }

async function partition(s: TestServer, p: number): Promise<PartitionInfo> {
  const res = await s.fetch('/api/partitions', { headers: service(s) });
  assert.equal(res.status, 200);
  return ((await res.json()) as { partitions: PartitionInfo[] }).partitions[p]!;
}

async function readPartition(s: TestServer, p: number, query: string): Promise<PartitionPage> {
  const res = await s.fetch(`/api/partitions/${p}/messages?${query}`, { headers: service(s) });
  assert.equal(res.status, 200);
  return (await res.json()) as PartitionPage;
}

/** Polls until `done` holds; retention runs on the server's timer, so the test can only wait for it. */
async function until(what: string, done: () => Promise<boolean>, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await done())) {
    if (Date.now() > deadline) assert.fail(`still waiting after ${limitMs} ms for ${what}`);
    await sleep(50);
  }
}

async function send(s: TestServer, token: string, bodies: string[]): Promise<void> {
  for (const body of bodies) {
    const res = await s.fetch('/devices/shelf-1/messages/events', { method: 'POST', headers: { authorization: token }, body });
    assert.equal(res.status, 204);
  }
}

test('the server deletes expired messages on its own timer; newer ones stay and sequence numbers never go back', { timeout: 60_000 }, async () => {
  const dataDir = tempDir();
  let s = await startTestServer({ log: RETENTION }, dataDir);
  try {
    const device = await s.createDevice('shelf-1');
    await send(s, s.deviceToken(device), ['{"n":"old-1"}', '{"n":"old-2"}', '{"n":"old-3"}']);
    const p = Number((await s.log.partitions()).find((x) => !x.isEmpty)!.partitionId);
    assert.deepEqual((await readPartition(s, p, 'from_sequence=0')).messages.map((m) => m.body), [{ n: 'old-1' }, { n: 'old-2' }, { n: 'old-3' }]);
    // A group created while they are retained, which never reads them before they expire.
    assert.equal((await putGroup(s, 'late-reader')).status, 201);

    await until('the old messages to expire', async () => (await partition(s, p)).beginningSequenceNumber === 3);
    const emptied = await partition(s, p);
    assert.deepEqual([emptied.beginningSequenceNumber, emptied.lastEnqueuedSequenceNumber, emptied.isEmpty], [3, 2, true]);
    const behind = await readPartition(s, p, 'from_sequence=0');
    assert.deepEqual([behind.messages.length, behind.startedAtEarliest, behind.nextSequenceNumber], [0, true, 3]);

    // Sent after the partition emptied: new positions, and retained while younger than retention.
    await send(s, s.deviceToken(device), ['{"n":"new-1"}', '{"n":"new-2"}']);
    // Room for a few runs of the timer, each of which must leave them (they expire after 1 s).
    await sleep(300);
    const fresh = await readPartition(s, p, 'from_sequence=0');
    assert.equal(fresh.startedAtEarliest, true);
    assert.deepEqual(fresh.messages.map((m) => [m.sequenceNumber, m.offset, m.body]), [[3, '3', { n: 'new-1' }], [4, '4', { n: 'new-2' }]]);
    assert.deepEqual((await pull(s, 'late-reader')).messages.map((m) => m.body), [{ n: 'new-1' }, { n: 'new-2' }]);

    // The timer keeps running: these expire in turn.
    await until('the newer messages to expire', async () => (await partition(s, p)).isEmpty);
    assert.equal((await partition(s, p)).beginningSequenceNumber, 5);

    // The emptied partition's position survives a restart: the next message is 5, not 0 again.
    await s.close();
    s = await startTestServer({ log: RETENTION }, dataDir);
    await send(s, s.deviceToken((await s.registry.get('shelf-1'))!), ['{"n":"after-restart"}']);
    assert.deepEqual((await readPartition(s, p, 'from_sequence=0')).messages.map((m) => [m.sequenceNumber, m.body]), [[5, { n: 'after-restart' }]]);
  } finally {
    await s.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
