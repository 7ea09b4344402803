// GET /api/consumergroups/{group}/stream: Server-Sent Events through the real server.
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { msg } from '../log/event-log.contract.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { service, sleep, type WireMessage } from './feed-client.js';

interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/** An open stream: events as they are parsed, and the raw response to pause or destroy. */
class SseClient {
  readonly events: SseEvent[] = [];
  readonly messages: Array<{ id: string; message: WireMessage }> = [];
  ended = false;
  private buffer = '';
  private waiters: Array<() => void> = [];

  constructor(readonly res: IncomingMessage) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.buffer += chunk;
      const blocks = this.buffer.split('\n\n');
      this.buffer = blocks.pop()!;
      for (const block of blocks) {
        const e: SseEvent = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) e.comment = line.slice(1).trim();
          else {
            const colon = line.indexOf(':');
            (e as Record<string, string>)[line.slice(0, colon)] = line.slice(colon + 2);
          }
        }
        this.events.push(e);
        if (e.event === 'message') this.messages.push({ id: e.id!, message: JSON.parse(e.data!) as WireMessage });
      }
      this.notify();
    });
    res.on('end', () => {
      this.ended = true;
      this.notify();
    });
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  async until(done: () => boolean, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out; ${this.events.length} events so far`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  close(): void {
    this.res.destroy();
  }
}

function openStream(s: TestServer, group: string, query = '', headers: Record<string, string> = {}): Promise<SseClient> {
  const url = new URL(`${s.url}/api/consumergroups/${encodeURIComponent(group)}/stream?${query}`);
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { ...service(s), ...headers } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
      else resolve(new SseClient(res));
    });
    req.on('error', reject);
    req.end();
  });
}

async function withServer(body: (s: TestServer) => Promise<void>): Promise<void> {
  const s = await startTestServer();
  try {
    await body(s);
  } finally {
    await s.stop();
  }
}

const bodies = (n: number, from = 0) => Array.from({ length: n }, (_, i) => msg('sse-device', JSON.stringify({ i: from + i })));

describe('SSE stream', () => {
  test('streams messages with cursor ids, and resumes after Last-Event-ID, committing it', () =>
    withServer(async (s) => {
      await s.log.append(bodies(10));
      const first = await openStream(s, '$Default', 'max=3');
      assert.match(first.res.headers['content-type']!, /^text\/event-stream/);
      await first.until(() => first.messages.length === 10);
      assert.deepEqual(first.messages.map((m) => m.message.body), bodies(10).map((b) => JSON.parse(b.body.toString())));
      await s.log.append(bodies(2, 10));
      await first.until(() => first.messages.length === 12);
      first.close();
      const lastSeen = first.messages[6]!.id;
      assert.equal(first.messages[0]!.message.systemProperties, undefined);
      const resumed = await openStream(s, '$Default', 'system_properties=true', { 'last-event-id': lastSeen });
      await resumed.until(() => resumed.messages.length === 5);
      assert.deepEqual(resumed.messages.map((m) => (m.message.body as { i: number }).i), [7, 8, 9, 10, 11]);
      assert.equal(resumed.messages[0]!.message.systemProperties?.['x-opt-sequence-number'], resumed.messages[0]!.message.sequenceNumber);
      resumed.close();
      const status = (await (await s.fetch('/api/consumergroups/$Default', { headers: service(s) })).json()) as { partitions: Array<{ lagMessages: number }> };
      assert.equal(status.partitions.reduce((n, p) => n + p.lagMessages, 0), 5, 'Last-Event-ID committed the first 7');
      const forged = await s.fetch('/api/consumergroups/$Default/stream', { headers: { ...service(s), 'last-event-id': 'forged.id' } });
      assert.equal(forged.status, 400);
    }));

  test('an idle stream sends heartbeats', () =>
    withServer(async (s) => {
      const stream = await openStream(s, '$Default', 'heartbeat_ms=1000');
      const started = Date.now();
      await stream.until(() => stream.events.some((e) => e.comment === 'heartbeat'), 3_000);
      assert.ok(Date.now() - started >= 900);
      stream.close();
    }));

  test('a slow reader holds back the stream instead of growing server memory', () =>
    withServer(async (s) => {
      const pad = 'x'.repeat(16 * 1024);
      const total = 3_000;
      for (let i = 0; i < total; i += 500) await s.log.append(Array.from({ length: 500 }, (_, j) => msg('sse-device', JSON.stringify({ i: i + j, pad }))));
      const stream = await openStream(s, '$Default', 'max=50');
      stream.res.pause();
      await sleep(1_000);
      const status = (await (await s.fetch('/api/consumergroups/$Default', { headers: service(s) })).json()) as { partitions: Array<{ lease: { nextSequenceNumber: number | null } | null }> };
      const handedOut = status.partitions.reduce((n, p) => n + (p.lease?.nextSequenceNumber ?? 0), 0);
      assert.ok(handedOut > 0 && handedOut <= total / 2, `${handedOut} of ${total} messages were read while the client read nothing`);
      stream.res.resume();
      await stream.until(() => stream.messages.length === total, 20_000);
      assert.deepEqual(stream.messages.map((m) => (m.message.body as { i: number }).i), Array.from({ length: total }, (_, i) => i));
      stream.close();
    }));

  test('closing the server ends open streams at once', async () => {
    const s = await startTestServer();
    try {
      const stream = await openStream(s, '$Default');
      const started = Date.now();
      await s.close();
      await stream.until(() => stream.ended, 3_000);
      assert.ok(Date.now() - started < 3_000);
    } finally {
      await s.stop();
    }
  });
});
