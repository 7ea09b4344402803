// The crash loop both crash-loop tests run, on the embedded files or on the shared log and
// database: `omnistream start` as a child process, and `cycles` times: six devices send single
// events (each with its own messageId), a consumer-group reader reads pages and checkpoints each, a
// job closes 500 ms windows (checkpointing every 100 ms), retention deletes what is older than
// `retentionMs` (every 200 ms) — and after a delay drawn from a seeded random source (100 to
// 1,000 ms) the process gets SIGKILL. Each start is on the state exactly as the kill left it: a
// start that fails fails the test, so nothing ever needs repair. Clients resend what they never
// saw acknowledged, under the same id.
//
// Retention removes messages during the run, so the checks are over two views: what remains at the
// end, and every message ever stored, which is what remains plus what the reader was handed plus
// what the test reads of every partition at every start (a restarted gateway may keep the reader
// waiting longer than the retention, so the reader alone would not see everything; a gap in that
// union fails the test rather than weakening a check). Checked:
//   - among what remains: each message once, sequence numbers without a gap, nothing never sent,
//     every message handed to the reader;
//   - every acknowledged message is in the union, and still there unless first sent more than
//     `retentionMs` before the end (retention may take it then, not before);
//   - a position (partition, sequence number) never held two messages, no message was stored at
//     two positions, and every partition's positions run from 0 without a gap;
//   - the reader never got back a message whose checkpoint had been acknowledged (204);
//   - the job's rows equal the same query's over every stored message in one uninterrupted pass
//     (test/helpers/jobs.ts's oracle): no window row missing, none twice;
//   - retention had deleted messages before the last kill.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { deviceResource, signSasToken } from '../../src/auth/sas.js';
import type { StoredMessage } from '../../src/core/message.js';
import type { WireMessage as FeedMessage } from '../feed/feed-client.js';
import { comparable, eventually, oracle, sortRows, type WireRow } from '../helpers/jobs.js';
import { spawnServer, type ServerProcess } from '../helpers/process.js';
import { tempDir } from '../helpers/server.js';

export interface CrashLoop {
  readonly cycles: number;
  readonly seed: number;
  /** Flags of every start besides --config and --data: the shared log and database, when used. */
  readonly flags: readonly string[];
  /** How old a message retention deletes: well above the longest a restart can keep the job from reading. */
  readonly retentionMs: number;
}

const DEVICES = 8;
const SENDERS = 6;
const GROUP = 'crash-reader';
/**
 * The reader's lease: with the shared database a restarted gateway cannot hand the reader the
 * partitions its killed predecessor leased to it until that lease lapses (a lease names a reader,
 * and only the process that took it may renew it), so the reader keeps it short.
 */
const READER_LEASE_MS = 1_000;
const QUERY = `
  SELECT sku, COUNT(*) AS events, SUM(qty) AS units, MAX(n) AS last, System.Timestamp() AS windowEnd
  INTO Counts FROM events GROUP BY sku, TumblingWindow(millisecond, 500)`;

/** A message as the feed and the partition reads hand it out; every message here has an id. */
type WireMessage = FeedMessage & { messageId: string };

interface Page { messages: WireMessage[]; cursor: string }

function byPartition(messages: readonly WireMessage[]): Map<number, WireMessage[]> {
  const out = new Map<number, WireMessage[]>();
  for (const m of messages) out.set(m.partition, [...(out.get(m.partition) ?? []), m]);
  return out;
}

function twice(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  return ids.filter((id) => seen.size === seen.add(id).size);
}

function asStored(m: WireMessage): StoredMessage {
  const body = m.bodyEncoding === 'base64' ? Buffer.from(m.body as string, 'base64') : Buffer.from(JSON.stringify(m.body));
  return { ...m, enqueuedTimeUtc: new Date(m.enqueuedTimeUtc), body, properties: {} } as unknown as StoredMessage;
}

/** What a run went through, for the test's diagnostics. */
export interface CrashLoopSummary {
  readonly acknowledged: number;
  readonly stored: number;
  readonly remaining: number;
  readonly windows: number;
  readonly firstDeletionCycle: number;
  /** The longest a message waited between its enqueue and reaching the reader: what the retention must exceed. */
  readonly maxReaderLagMs: number;
  /** The longest the job's clock was behind the wall clock just before a kill: it too must stay within the retention. */
  readonly maxJobLagMs: number;
}

export async function runCrashLoop(o: CrashLoop): Promise<CrashLoopSummary> {
  const dataDir = tempDir();
  try {
    const config = join(dataDir, 'omnistream.yaml');
    writeFileSync(config, [
      `log: { retention: ${o.retentionMs}ms, retentionInterval: 200ms }`,
      // With the shared database a restarted process takes the job over once the killed one's lease lapses.
      'jobLease: 1s',
      'outputs:', '  Counts: { type: dashboard }',
      'jobs:', '  counts:', `    query: ${JSON.stringify(QUERY)}`, '    eventOrdering: { lateArrival: 0s }', '    checkpointInterval: 100ms',
    ].join('\n'));
    const ownerKey = randomBytes(32).toString('base64');
    const start = () => spawnServer(['--config', config, '--data', dataDir, ...o.flags], { OMNISTREAM_OWNER_KEY: ownerKey }, { compiled: true });
    const expiry = Math.floor(Date.now() / 1000) + 3600;
    const owner = signSasToken({ resource: 'localhost', key: ownerKey, keyName: 'iothubowner', expiry });
    const killAfterMs = fc.sample(fc.integer({ min: 100, max: 1_000 }), { numRuns: o.cycles, seed: o.seed });

    const tokens: string[] = [];
    const attempted = new Map<string, { device: number; body: string; firstSentMs: number }>();
    const acked = new Set<string>();
    /** Every message seen, by position (the reader's pages, the test's own reads): what retention removes is still known here. */
    const known = new Map<string, WireMessage>();
    /** Positions the reader was handed. */
    const handed = new Set<string>();
    let maxLagMs = 0;
    /** How far the job's clock was behind the wall clock at a kill, at most. */
    let maxJobLagMs = 0;
    const reused: string[] = [];
    /** Per partition, the offset the test's own reads have reached. */
    const readTo = new Map<string, string>();
    const checkpointed = new Set<string>();
    const redelivered: string[] = [];
    let n = 0;
    let firstDeletionCycle: number | undefined;

    const send = async (url: string, id: string): Promise<void> => {
      const { device, body } = attempted.get(id)!;
      const res = await fetch(`${url}/devices/loop-${device}/messages/events`, { method: 'POST', headers: { authorization: tokens[device]!, 'iothub-messageid': id }, body });
      if (res.status !== 204) throw new Error(`${id}: ${res.status} ${await res.text()}`);
      acked.add(id);
    };
    const seen = (m: WireMessage): string => {
      const at = `${m.partition}:${m.sequenceNumber}`;
      const before = known.get(at);
      if (before !== undefined && before.messageId !== m.messageId) reused.push(`${at} held ${before.messageId}, then ${m.messageId}`);
      known.set(at, m);
      return at;
    };
    const received = (messages: readonly WireMessage[]) => {
      for (const m of messages) {
        const at = seen(m);
        if (!handed.has(at)) maxLagMs = Math.max(maxLagMs, Date.now() - Date.parse(m.enqueuedTimeUtc));
        handed.add(at);
        if (checkpointed.has(m.messageId)) redelivered.push(m.messageId);
      }
    };
    const readPage = async (url: string, query: string): Promise<Page> => {
      const res = await fetch(`${url}/api/consumergroups/${GROUP}/messages?${query}`, { headers: { authorization: owner } });
      if (res.status !== 200) throw new Error(`read: ${res.status} ${await res.text()}`);
      const page = (await res.json()) as Page;
      received(page.messages);
      return page;
    };
    const checkpoint = async (url: string, page: Page): Promise<void> => {
      const res = await fetch(`${url}/api/consumergroups/${GROUP}/checkpoint`, {
        method: 'POST', headers: { authorization: owner, 'content-type': 'application/json' }, body: JSON.stringify({ cursor: page.cursor }),
      });
      if (res.status !== 204) throw new Error(`checkpoint: ${res.status} ${await res.text()}`);
      for (const m of page.messages) checkpointed.add(m.messageId);
    };
    const partitions = async (url: string) => {
      const res = await fetch(`${url}/api/partitions`, { headers: { authorization: owner } });
      return ((await res.json()) as { partitions: Array<{ partitionId: string; beginningSequenceNumber: number }> }).partitions;
    };
    /** Every message of `partitionId` after `afterOffset` (from the earliest without it). */
    const readPartition = async (url: string, partitionId: string, afterOffset?: string): Promise<WireMessage[]> => {
      const out: WireMessage[] = [];
      let after = afterOffset;
      for (;;) {
        const res = await fetch(`${url}/api/partitions/${partitionId}/messages?max=1000${after === undefined ? '' : `&after_offset=${after}`}`, { headers: { authorization: owner } });
        if (res.status !== 200) throw new Error(`partition read: ${res.status} ${await res.text()}`);
        const page = (await res.json()) as { messages: WireMessage[] };
        if (page.messages.length === 0) return out;
        out.push(...page.messages);
        after = page.messages.at(-1)!.offset;
      }
    };
    /**
     * At every start, the test reads what was stored since its last look. With the reader, this is
     * how it knows every message ever stored even when a restarted gateway keeps the group's reader
     * waiting (its predecessor's lease) longer than the retention.
     */
    const catchUp = async (url: string) => {
      for (const { partitionId } of await partitions(url)) {
        const messages = await readPartition(url, partitionId, readTo.get(partitionId));
        for (const m of messages) seen(m);
        if (messages.length > 0) readTo.set(partitionId, messages.at(-1)!.offset);
      }
    };

    /** One cycle's traffic until `stopped`: a crash cuts requests off (fetch's TypeError); any other failure is a defect. */
    async function traffic(server: ServerProcess, stopped: () => boolean): Promise<void> {
      const untilKilled = async (work: () => Promise<void>) => {
        while (!stopped()) {
          try {
            await work();
          } catch (err) {
            if (stopped() && err instanceof TypeError) return;
            throw err;
          }
        }
      };
      const sender = () => untilKilled(async () => {
        const i = n++;
        const id = `c-${i}`;
        attempted.set(id, { device: i % DEVICES, body: JSON.stringify({ id, sku: `SKU-${i % 5}`, qty: 1 + (i % 3), n: i }), firstSentMs: Date.now() });
        await send(server.url, id);
      });
      const reader = () => untilKilled(async () => {
        const page = await readPage(server.url, `max=500&wait_ms=50&lease_ms=${READER_LEASE_MS}`);
        if (page.messages.length > 0) await checkpoint(server.url, page);
      });
      await Promise.all([...Array.from({ length: SENDERS }, sender), reader()]);
    }

    for (let cycle = 0; cycle < o.cycles; cycle++) {
      const server = await start();
      if (cycle === 0) {
        const put = await fetch(`${server.url}/api/consumergroups/${GROUP}`, { method: 'PUT', headers: { authorization: owner, 'content-type': 'application/json' }, body: '{}' });
        assert.equal(put.status, 201, await put.text());
        for (let d = 0; d < DEVICES; d++) {
          const res = await fetch(`${server.url}/devices/loop-${d}?api-version=2021-04-12`, { method: 'PUT', headers: { authorization: owner, 'content-type': 'application/json' }, body: JSON.stringify({ deviceId: `loop-${d}` }) });
          assert.equal(res.status, 200, await res.clone().text());
          const key = ((await res.json()) as { authentication: { symmetricKey: { primaryKey: string } } }).authentication.symmetricKey.primaryKey;
          tokens.push(signSasToken({ resource: deviceResource('localhost', `loop-${d}`), key, expiry }));
        }
      } else if (firstDeletionCycle === undefined && (await partitions(server.url)).some((p) => p.beginningSequenceNumber > 0)) {
        firstDeletionCycle = cycle;
      }
      await catchUp(server.url);
      for (const id of attempted.keys()) if (!acked.has(id)) await send(server.url, id);
      let killed = false;
      const running = traffic(server, () => killed);
      await new Promise((resolve) => setTimeout(resolve, killAfterMs[cycle]));
      const job = (await (await fetch(`${server.url}/api/jobs/counts`, { headers: { authorization: owner } })).json()) as { clock: string | null };
      if (job.clock !== null) maxJobLagMs = Math.max(maxJobLagMs, Date.now() - Date.parse(job.clock));
      killed = true;
      server.child.kill('SIGKILL');
      assert.equal(await server.exited, 'SIGKILL');
      await running;
    }

    const last = await start();
    let rows: WireRow[];
    const remaining: WireMessage[] = [];
    let readEndMs: number;
    try {
      for (const id of attempted.keys()) if (!acked.has(id)) await send(last.url, id);
      // The reader goes on to the end first, before retention takes more of what it has not seen.
      await eventually('the reader to commit every partition to its end', async () => {
        const page = await readPage(last.url, `max=500&wait_ms=100&lease_ms=${READER_LEASE_MS}`);
        if (page.messages.length > 0) await checkpoint(last.url, page);
        const status = (await (await fetch(`${last.url}/api/consumergroups/${GROUP}`, { headers: { authorization: owner } })).json()) as { partitions: Array<{ committedSequenceNumber: number; lastEnqueuedSequenceNumber: number }> };
        return status.partitions.every((p) => p.committedSequenceNumber >= p.lastEnqueuedSequenceNumber) ? true : undefined;
      }, 30_000);
      for (const { partitionId } of await partitions(last.url)) remaining.push(...await readPartition(last.url, partitionId));
      readEndMs = Date.now();
      await eventually('the job to read everything and close its windows', async () => {
        const status = (await (await fetch(`${last.url}/api/jobs/counts`, { headers: { authorization: owner } })).json()) as { eventsIn: number; clock: string | null; state: string };
        return status.state === 'running' && status.clock !== null && Date.parse(status.clock) > readEndMs + 1_000 ? true : undefined;
      }, 60_000);
      rows = (await (await fetch(`${last.url}/api/outputs/Counts?limit=10000`, { headers: { authorization: owner } })).json() as { rows: WireRow[] }).rows;
    } finally {
      last.child.kill('SIGTERM');
      await last.exited;
    }

    // What remains: once each, no gap, nothing never sent, every message handed to the reader.
    for (const [p, messages] of byPartition(remaining)) {
      messages.forEach((m, i) => assert.equal(m.sequenceNumber, messages[0]!.sequenceNumber + i, `partition ${p} has no gap among what remains`));
    }
    const remainingIds = remaining.map((m) => m.messageId);
    assert.deepEqual(twice(remainingIds), [], 'stored twice');
    assert.deepEqual(remainingIds.filter((id) => !attempted.has(id)), [], 'stored but never sent');
    assert.equal(acked.size, attempted.size, 'every message was acknowledged in the end');
    assert.deepEqual(remaining.filter((m) => !handed.has(`${m.partition}:${m.sequenceNumber}`)).map((m) => m.messageId), [], 'stored but never delivered to the group');

    // Every message ever stored: what remains, what the reader was handed, what the test read at each start.
    for (const m of remaining) seen(m);
    assert.deepEqual(reused, [], 'a position held two messages');
    const everStored = [...known.values()].sort((a, b) => a.partition - b.partition || a.sequenceNumber - b.sequenceNumber);
    for (const [p, messages] of byPartition(everStored)) {
      messages.forEach((m, i) => assert.equal(m.sequenceNumber, i, `partition ${p}: position ${i} was seen before retention removed it (the test reads every partition at every start)`));
    }
    const everIds = everStored.map((m) => m.messageId);
    assert.deepEqual(twice(everIds), [], 'stored at two positions');
    const ever = new Set(everIds);
    assert.deepEqual([...acked].filter((id) => !ever.has(id)), [], 'acknowledged but never stored');
    const kept = new Set(remainingIds);
    const expiredEarly = [...acked].filter((id) => !kept.has(id) && attempted.get(id)!.firstSentMs >= readEndMs - o.retentionMs);
    assert.deepEqual(expiredEarly, [], 'acknowledged, and gone before its retention time');
    assert.ok(ever.size > kept.size, `retention deleted messages (${ever.size} stored, ${kept.size} remain)`);
    assert.ok(firstDeletionCycle !== undefined, 'retention deleted messages before the last kill');

    // The consumer group.
    assert.deepEqual(redelivered, [], 'handed out again after its checkpoint was acknowledged');
    assert.ok(acked.size > o.cycles, `${acked.size} messages over ${o.cycles} crashes`);

    // The job: the oracle over every stored message, in one uninterrupted pass.
    const expected = sortRows(oracle(QUERY, everStored.map(asStored), { policy: { lateArrivalToleranceMs: 0 } }));
    assert.ok(expected.length > o.cycles, `${expected.length} windows`);
    assert.deepEqual(sortRows(comparable('Counts', rows)), expected, 'the job\'s rows after the crashes: none missing, none twice');
    return { acknowledged: acked.size, stored: ever.size, remaining: kept.size, windows: expected.length, firstDeletionCycle, maxReaderLagMs: maxLagMs, maxJobLagMs };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
