// Hostile input, generated: thousands of HTTP requests and MQTT connections against the real
// server (its HTTP port and plain MQTT port), built by fast-check from hostile-cases.ts. Every
// answer is checked — a status below 500, an error body in the route's documented shape, a refusal
// where one is due — and at the end the log holds exactly the messages that were acknowledged,
// the registry and the consumer group are as they were, and the server counted no internal error.
//   OMNISTREAM_FUZZ_SEED=N     replays one run (the seed is printed on failure)
//   OMNISTREAM_FUZZ_SCALE=10   ten times as many cases (npm run test:reliability)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type mqttPacket from 'mqtt-packet';
import { startTestServer, readAll, type TestServer } from '../helpers/server.js';
import { httpCases, mqttCases, type Fixture, type HttpCase, type MqttCase } from './hostile-cases.js';
import { encodeRequest, inLanes, mqttExchange, rawHttp, type RawResponse } from './raw-clients.js';

const SEED = Number(process.env.OMNISTREAM_FUZZ_SEED ?? Date.now() % 2 ** 31);
const SCALE = Number(process.env.OMNISTREAM_FUZZ_SCALE ?? 1);
const HTTP_CASES = 5_000 * SCALE;
const MQTT_CASES_PER_LANE = 160 * SCALE;
const LANES = 16;

/** Problems found, each once per kind, so a systematic one does not drown the rest. */
class Findings {
  private readonly byKind = new Map<string, { count: number; first: string }>();
  add(kind: string, problem: string, detail: string): void {
    const key = `${kind}: ${problem}`;
    const seen = this.byKind.get(key);
    if (seen) seen.count++;
    else this.byKind.set(key, { count: 1, first: detail });
  }
  report(): string {
    return [...this.byKind].map(([key, { count, first }]) => `${key} (×${count}), e.g. ${first}`).join('\n');
  }
  get size(): number {
    return this.byKind.size;
  }
}

/** The message ids a case carries: its iothub-messageid header, or its batch entries'. */
function idsOf(c: HttpCase): string[] {
  const header = c.headers.find(([n]) => n === 'iothub-messageid');
  if (header) return [header[1]];
  const text = c.body?.toString('utf8') ?? '';
  const start = c.path === '/api/beacon' ? text.indexOf(',"messages":') + ',"messages":'.length : 0;
  try {
    const v: unknown = JSON.parse(text.slice(start, c.path === '/api/beacon' ? -1 : undefined));
    return Array.isArray(v) ? v.flatMap((e: unknown) => (typeof (e as { messageId?: unknown } | null)?.messageId === 'string' ? [(e as { messageId: string }).messageId] : [])) : [];
  } catch {
    return [];
  }
}

function show(c: HttpCase): string {
  const text = encodeRequest(c).toString('latin1');
  return JSON.stringify(text.length > 300 ? `${text.slice(0, 300)}…(${text.length} bytes)` : text);
}

/** The error shapes of docs/http-api.md: IoT Hub's on /devices…, Omnistream's elsewhere. */
function errorShapeProblem(c: HttpCase, r: RawResponse): string | undefined {
  if (r.headers['content-type'] !== 'application/json; charset=utf-8') return `content-type ${r.headers['content-type']}`;
  let body: unknown;
  try {
    body = JSON.parse(r.body.toString('utf8'));
  } catch {
    return 'a body that is not JSON';
  }
  const b = body as Record<string, unknown>;
  if (/^[A-Z]+ \/devices/.test(encodeRequest(c).subarray(0, 32).toString('latin1'))) {
    if (typeof b.Message !== 'string' || !/^ErrorCode:\w+;/.test(b.Message) || typeof b.ExceptionMessage !== 'string') return 'not IoT Hub\'s error shape';
    return undefined;
  }
  const e = b.error as Record<string, unknown> | undefined;
  if (Object.keys(b).join() !== 'error' || typeof e?.code !== 'string' || typeof e.message !== 'string' || Object.keys(e).sort().join() !== 'code,message') {
    return 'not {error:{code,message}}';
  }
  return undefined;
}

describe(`hostile input (seed ${SEED})`, () => {
  let s: TestServer;
  let f: Fixture;
  let devicesBefore: unknown;
  let groupBefore: unknown;
  /** Message ids the server may have stored (sent in cases it could accept), and those it acknowledged. */
  const mayStore = new Set<string>();
  const acknowledged = new Set<string>();
  const sent = { requests: 0, packets: 0 };
  let httpPort: number;

  const deviceState = async () => (await s.registry.list()).map((d) => ({ id: d.deviceId, etag: d.etag, status: d.status, keys: d.authentication.symmetricKey, tenant: d.tenant }));
  const groupState = async () => {
    const res = await s.fetch(`/api/consumergroups/${f.group}`, { headers: { authorization: s.policyToken('service') } });
    const g = (await res.json()) as { partitions: Array<{ partitionId: string; committedSequenceNumber: number }> };
    return g.partitions.map((p) => [p.partitionId, p.committedSequenceNumber]);
  };

  before(async () => {
    s = await startTestServer({ mqtt: { port: 0 } });
    httpPort = Number(new URL(s.url).port);
    const identity = async (id: string) => ({ deviceId: id, key: (await s.createDevice(id)).authentication.symmetricKey.primaryKey });
    f = {
      hostName: 'localhost',
      good: await identity('good'),
      other: await identity('other'),
      mqttDevices: await Promise.all(Array.from({ length: LANES }, (_, i) => identity(`mq-${i}`))),
      ownerKey: s.keys.policy('iothubowner')!.primaryKey,
      serviceKey: s.keys.policy('service')!.primaryKey,
      registryReadKey: s.keys.policy('registryRead')!.primaryKey,
      group: 'hostile',
    };
    const put = await s.fetch(`/api/consumergroups/${f.group}`, { method: 'PUT', headers: { authorization: s.policyToken('service'), 'content-type': 'application/json' }, body: '{}' });
    assert.ok(put.ok, await put.text());
    devicesBefore = await deviceState();
    groupBefore = await groupState();
  });
  after(() => s.stop());

  test(`${HTTP_CASES} generated HTTP requests: none gets a 5xx, every error is a JSON error body, refusals refuse`, async () => {
    const cases = fc.sample(httpCases(f), { numRuns: HTTP_CASES, seed: SEED });
    const findings = new Findings();
    await inLanes(cases, LANES, async (c) => {
      sent.requests++;
      const ids = idsOf(c);
      if (!c.refuse) for (const id of ids) mayStore.add(id);
      let r: RawResponse;
      try {
        r = await rawHttp(httpPort, encodeRequest(c));
      } catch (err) {
        findings.add(c.kind, 'no answer', `${(err as Error).message} to ${show(c)}`);
        return;
      }
      if (r.status === 0) return findings.add(c.kind, 'closed without an answer', show(c));
      if (r.status >= 500) return findings.add(c.kind, `status ${r.status}`, `${r.body.toString().slice(0, 300)} for ${show(c)}`);
      if (r.status >= 400) {
        // A HEAD answer has no body, by definition.
        const problem = c.method === 'HEAD' ? undefined : errorShapeProblem(c, r);
        if (problem) findings.add(c.kind, problem, `status ${r.status}, ${r.body.toString().slice(0, 200)} for ${show(c)}`);
        if (c.accept) findings.add(c.kind, `refused (${r.status}) an intact credential`, `${r.body.toString().slice(0, 200)} for ${show(c)}`);
        if ((r.status === 429 || r.status === 503) && r.headers['retry-after'] === undefined) findings.add(c.kind, `${r.status} without Retry-After`, show(c));
        return;
      }
      if (c.refuse) return findings.add(c.kind, `accepted (${r.status})`, show(c));
      if (c.messages > 0 && r.status >= 200 && r.status < 300) for (const id of ids) acknowledged.add(id);
    });
    assert.equal(findings.size, 0, findings.report());
  });

  test(`${LANES * MQTT_CASES_PER_LANE} generated MQTT connections: refused credentials never connect, foreign and broken publishes are never acknowledged`, async () => {
    const findings = new Findings();
    await Promise.all(Array.from({ length: LANES }, async (_, lane) => {
      const cases: MqttCase[] = fc.sample(mqttCases(f, lane), { numRuns: MQTT_CASES_PER_LANE, seed: SEED + lane + 1 });
      for (const c of cases) {
        sent.packets += c.packets + 1;
        for (const id of c.mayAck.values()) mayStore.add(id);
        let packets: mqttPacket.Packet[];
        try {
          ({ packets } = await mqttExchange(s.mqttPort!, c.bytes, c.mustAck === undefined ? [] : [c.mustAck]));
        } catch (err) {
          findings.add(c.kind, 'no answer', `${(err as Error).message}: ${c.bytes.subarray(0, 100).toString('hex')}`);
          continue;
        }
        const connack = packets.find((p): p is mqttPacket.IConnackPacket => p.cmd === 'connack');
        if (c.refuseConnect && connack?.returnCode === 0) findings.add(c.kind, 'connected', c.bytes.subarray(0, 200).toString('hex'));
        const acked = packets.filter((p): p is mqttPacket.IPubackPacket => p.cmd === 'puback').map((p) => p.messageId!);
        for (const id of acked) if (!c.mayAck.has(id)) findings.add(c.kind, `PUBACK ${id} of a publish that must be refused`, c.bytes.subarray(0, 300).toString('hex'));
        if (c.mustAck !== undefined && !acked.includes(c.mustAck)) findings.add(c.kind, 'a good publish was not acknowledged', packets.map((p) => p.cmd).join(','));
        for (const id of acked) if (c.mayAck.has(id)) acknowledged.add(c.mayAck.get(id)!);
      }
    }));
    assert.equal(findings.size, 0, findings.report());
  });

  test('afterwards: the log holds what was acknowledged, once, and nothing of a refused request; the registry and the group are unchanged; no internal error was counted', async (t) => {
    assert.ok(sent.requests + sent.packets >= 10_000, `${sent.requests} requests and ${sent.packets} packets`);
    const messages = await readAll(s);
    const allowed = new Set([f.good.deviceId, ...f.mqttDevices.map((d) => d.deviceId)]);
    assert.deepEqual(messages.filter((m) => !allowed.has(m.deviceId)).map((m) => m.deviceId), [], 'messages of devices nobody could send as');
    const ids = messages.map((m) => m.messageId);
    assert.equal(new Set(ids).size, ids.length, 'a message stored twice');
    assert.deepEqual(ids.filter((id) => id === undefined || !mayStore.has(id)), [], 'stored, but sent only in cases that must be refused');
    const storedIds = new Set(ids);
    assert.deepEqual([...acknowledged].filter((id) => !storedIds.has(id)), [], 'acknowledged but not stored');
    assert.deepEqual(await deviceState(), devicesBefore);
    assert.deepEqual(await groupState(), groupBefore);
    const metrics = await (await s.fetch('/metrics')).text();
    assert.doesNotMatch(metrics, /status="5\d\d"/, 'a 5xx was counted');
    assert.doesNotMatch(metrics, /reason="internal"/, 'an internal error was counted');
    assert.equal((await s.fetch('/healthz')).status, 200);
    t.diagnostic(`hostile input: ${sent.requests} requests, ${sent.packets} MQTT packets, ${acknowledged.size} messages acknowledged and stored, seed ${SEED}`);
  });
});
