// Several processes on one hub (the log on NATS JetStream, the state in PostgreSQL), started
// through the real command line and killed with SIGKILL:
// - two gateways and one jobs process: events sent round-robin to both gateways while a consumer
//   group reads through both, one gateway killed mid-run. Every acknowledged event is in the log
//   once, handed to the group's readers and committed once, and counted once in a job's output.
// - two jobs processes: one of them runs the job; killing it moves the job to the other, and every
//   event is still counted once.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { deviceResource, signSasToken } from '../../src/auth/sas.js';
import { eventually } from '../helpers/jobs.js';
import type { ServerProcess } from '../helpers/process.js';
import { killProcess, OWNER_KEY, sharedHub, skipWithoutScaleOut, startProcess, stopProcess, type SharedHub } from '../helpers/scale-out.js';
import { tempDir } from '../helpers/server.js';

const COUNT = 'SELECT COUNT(*) AS n, System.Timestamp() AS t INTO Counts FROM events GROUP BY TumblingWindow(second, 1)';
const DEVICES = 8;
const GROUP = 'audit';
/** Short, so a dead gateway's readers' partitions move on quickly. */
const READER_LEASE_MS = 3_000;

const expiry = () => Math.floor(Date.now() / 1000) + 3_600;
const OWNER = () => signSasToken({ resource: 'localhost', key: OWNER_KEY, keyName: 'iothubowner', expiry: expiry() });

function hubConfig(dir: string): string {
  const file = join(dir, 'omnistream.yaml');
  writeFileSync(file, [
    'jobLease: 2s',
    'outputs:',
    '  Counts: {type: dashboard}',
    'jobs:',
    `  counts: {query: "${COUNT}", eventOrdering: {lateArrival: 0s}}`,
  ].join('\n'));
  return file;
}

interface Device { readonly id: string; readonly authorization: string }

async function createDevices(gatewayUrl: string): Promise<Device[]> {
  const devices: Device[] = [];
  for (let i = 0; i < DEVICES; i++) {
    const id = `store-${i}`;
    const r = await fetch(`${gatewayUrl}/devices/${id}?api-version=2021-04-12`, { method: 'PUT', headers: { authorization: OWNER(), 'content-type': 'application/json' }, body: JSON.stringify({ deviceId: id }) });
    assert.equal(r.status, 200, await r.clone().text());
    const key = ((await r.json()) as { authentication: { symmetricKey: { primaryKey: string } } }).authentication.symmetricKey.primaryKey;
    devices.push({ id, authorization: signSasToken({ resource: deviceResource('localhost', id), key, expiry: expiry() }) });
  }
  return devices;
}

/**
 * Sends one event, to `gateways[first]` and then around the others, until one acknowledges it
 * (204). The messageId stays the same, so an attempt stored without an answer is not stored twice.
 */
async function sendUntilAcknowledged(gateways: () => readonly string[], first: number, device: Device, messageId: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const urls = gateways();
    const url = urls[(first + attempt) % urls.length]!;
    try {
      const r = await fetch(`${url}/devices/${device.id}/messages/events`, {
        method: 'POST', headers: { authorization: device.authorization, 'content-type': 'application/json', 'iothub-messageid': messageId }, body: JSON.stringify({ messageId }),
      });
      await r.arrayBuffer();
      if (r.status === 204) return;
      assert.ok(r.status === 503, `a send got ${r.status}`);
    } catch (err) {
      if (err instanceof assert.AssertionError) throw err;
      // The gateway is gone (killed): try the next one.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface Handed { readonly deviceId: string; readonly messageId: string }

/**
 * A reader of the group that polls one gateway (the other once its own is dead) and commits each
 * page. A page counts as delivered only once its commit succeeded; a commit whose answer was lost
 * is sent again through the other gateway within the lease (commits are idempotent).
 */
class Reader {
  readonly committed: Handed[] = [];
  private stopped = false;
  readonly done: Promise<void>;

  constructor(readonly name: string, private readonly gateways: () => readonly string[], private preferred: number, private readonly service: string) {
    this.done = this.run();
  }

  private url(): string {
    const urls = this.gateways();
    return urls[this.preferred % urls.length]!;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let page: { messages: Handed[]; cursor: string };
      try {
        const r = await fetch(`${this.url()}/api/consumergroups/${GROUP}/messages?reader=${this.name}&max=100&wait_ms=500&lease_ms=${READER_LEASE_MS}`, { headers: { authorization: this.service } });
        if (r.status !== 200) {
          await r.arrayBuffer();
          await new Promise((resolve) => setTimeout(resolve, 100));
          continue;
        }
        page = await r.json() as { messages: Handed[]; cursor: string };
      } catch {
        // This reader's gateway is gone: poll the other one from now on.
        this.preferred++;
        continue;
      }
      if (page.messages.length === 0) continue;
      if (await this.commit(page.cursor)) this.committed.push(...page.messages.map((m) => ({ deviceId: m.deviceId, messageId: m.messageId })));
    }
  }

  private async commit(cursor: string): Promise<boolean> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const r = await fetch(`${this.url()}/api/consumergroups/${GROUP}/checkpoint`, { method: 'POST', headers: { authorization: this.service, 'content-type': 'application/json' }, body: JSON.stringify({ cursor }) });
        await r.arrayBuffer();
        return r.status === 204;
      } catch {
        this.preferred++;
      }
    }
    return false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

async function countedRows(gatewayUrl: string, service: string): Promise<number> {
  const r = await fetch(`${gatewayUrl}/api/outputs/Counts?limit=10000`, { headers: { authorization: service } });
  const body = await r.json() as { rows: { row: { n: number } }[] };
  return body.rows.reduce((sum, row) => sum + row.row.n, 0);
}

async function storedInLog(gatewayUrl: string, service: string): Promise<number> {
  const r = await fetch(`${gatewayUrl}/api/partitions`, { headers: { authorization: service } });
  const body = await r.json() as { partitions: { lastEnqueuedSequenceNumber: number; isEmpty: boolean }[] };
  return body.partitions.reduce((sum, p) => sum + (p.isEmpty ? 0 : p.lastEnqueuedSequenceNumber + 1), 0);
}

async function owned(p: ServerProcess): Promise<string[]> {
  const r = await fetch(`${p.url}/readyz`);
  return ((await r.json()) as { jobs?: { owned?: string[] } }).jobs?.owned ?? [];
}

function service(): string {
  // The service policy's key is generated; iothubowner (fixed by OWNER_KEY) has ServiceConnect too.
  return OWNER();
}

describe('two gateways and a jobs process, one gateway killed mid-run', () => {
  let hub: SharedHub;
  const processes: ServerProcess[] = [];
  let skipped = false;
  const dir = tempDir();
  const config = hubConfig(dir);

  before(async (t) => {
    skipped = await skipWithoutScaleOut(t as never);
    if (skipped) return;
    hub = sharedHub();
    processes.push(...await Promise.all([
      startProcess(hub, ['--config', config, '--data', join(dir, 'a'), '--role', 'gateway']),
      startProcess(hub, ['--config', config, '--data', join(dir, 'b'), '--role', 'gateway']),
      startProcess(hub, ['--config', config, '--data', join(dir, 'j'), '--role', 'jobs']),
    ]));
  });

  after(async () => {
    await Promise.all(processes.map((p) => stopProcess(p)));
    await hub?.remove();
  });

  test('every acknowledged event once in the log, once in the group\'s committed pages, counted once by the job', async (t) => {
    if (skipped) return t.skip('NATS or PostgreSQL missing');
    const [a, b] = processes as [ServerProcess, ServerProcess];
    let alive = [a.url, b.url];
    const gateways = () => alive;
    const devices = await createDevices(a.url);
    const created = await fetch(`${b.url}/api/consumergroups/${GROUP}`, { method: 'PUT', headers: { authorization: service(), 'content-type': 'application/json' }, body: '{"startFrom":"earliest"}' });
    assert.equal(created.status, 201);
    // One reader per gateway.
    const readers = [new Reader('reader-a', gateways, 0, service()), new Reader('reader-b', gateways, 1, service())];

    const total = 1_200;
    const killAt = 400;
    let next = 0;
    let acknowledged = 0;
    let killed: Promise<void> | undefined;
    const sender = async () => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        await sendUntilAcknowledged(gateways, i % 2, devices[i % DEVICES]!, `m-${i}`);
        acknowledged++;
        if (acknowledged === killAt) {
          // Mid-run, with sends in flight to it: the gateway dies as a crash would.
          killed = killProcess(a).then(() => { alive = [b.url]; });
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, sender));
    await killed;
    assert.equal(acknowledged, total);

    const sent = new Set(Array.from({ length: total }, (_, i) => `m-${i}`));
    assert.equal(await storedInLog(b.url, service()), total, 'the log holds each acknowledged event once');
    await eventually('the readers to commit every event', async () => (readers.reduce((n, r) => n + r.committed.length, 0) >= total ? true : undefined), 60_000);
    await Promise.all(readers.map((r) => r.stop()));
    const handed = readers.flatMap((r) => r.committed.map((m) => m.messageId));
    const seen = new Map<string, number>();
    for (const id of handed) seen.set(id, (seen.get(id) ?? 0) + 1);
    assert.deepEqual([...seen].filter(([, n]) => n > 1), [], 'no event committed twice');
    assert.deepEqual([...sent].filter((id) => !seen.has(id)), [], 'no acknowledged event missing from the feed');
    assert.equal(handed.length, total);
    // Both readers had a share while both gateways were up.
    assert.ok(readers.every((r) => r.committed.length > 0), readers.map((r) => `${r.name}: ${r.committed.length}`).join(', '));

    const counted = await eventually('the job to count every event', async () => {
      const n = await countedRows(b.url, service());
      return n >= total ? n : undefined;
    }, 60_000);
    assert.equal(counted, total);
  });
});

describe('two jobs processes', () => {
  let hub: SharedHub;
  let gateway: ServerProcess | undefined;
  const workers: ServerProcess[] = [];
  let skipped = false;
  const dir = tempDir();
  const config = hubConfig(dir);

  before(async (t) => {
    skipped = await skipWithoutScaleOut(t as never);
    if (skipped) return;
    hub = sharedHub();
    const started = await Promise.all([
      startProcess(hub, ['--config', config, '--data', join(dir, 'g'), '--role', 'gateway']),
      startProcess(hub, ['--config', config, '--data', join(dir, 'j1'), '--role', 'jobs']),
      startProcess(hub, ['--config', config, '--data', join(dir, 'j2'), '--role', 'jobs']),
    ]);
    gateway = started[0];
    workers.push(...started.slice(1));
  });

  after(async () => {
    await Promise.all([gateway, ...workers].map((p) => stopProcess(p)));
    await hub?.remove();
  });

  test('run the job exactly once; killing its owner moves it to the other, and every event is counted once', async (t) => {
    if (skipped) return t.skip('NATS or PostgreSQL missing');
    const devices = await createDevices(gateway!.url);
    const send = async (from: number, count: number) => {
      for (let i = from; i < from + count; i++) await sendUntilAcknowledged(() => [gateway!.url], 0, devices[i % DEVICES]!, `j-${i}`);
    };
    const owner = await eventually('one jobs process to own the job', async () => {
      const claims = await Promise.all(workers.map(async (w) => (await owned(w)).includes('job:counts')));
      return claims.filter(Boolean).length === 1 ? workers[claims.indexOf(true)]! : undefined;
    });
    const other = workers.find((w) => w !== owner)!;
    await send(0, 200);
    assert.equal(await eventually('the job to count the first events', async () => {
      const n = await countedRows(gateway!.url, service());
      return n >= 200 ? n : undefined;
    }, 60_000), 200);
    // Only one of them ran it all along: the other never owned it.
    assert.deepEqual(await owned(other), []);

    await killProcess(owner);
    await send(200, 200);
    await eventually('the other jobs process to take the job over', async () => ((await owned(other)).includes('job:counts') ? true : undefined), 60_000);
    const counted = await eventually('the job to count every event', async () => {
      const n = await countedRows(gateway!.url, service());
      return n >= 400 ? n : undefined;
    }, 60_000);
    assert.equal(counted, 400);
  });
});
