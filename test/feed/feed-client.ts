// What the feed tests share: sending messages through the gateway and reading them back through
// the consumer-group API, as any HTTP client would.
import assert from 'node:assert/strict';
import type { Device } from '../../src/core/device.js';
import type { TestServer } from '../helpers/server.js';

export interface WireMessage {
  partition: number;
  sequenceNumber: number;
  offset: string;
  enqueuedTimeUtc: string;
  deviceId: string;
  tenant: string;
  messageId?: string;
  correlationId?: string;
  contentType?: string;
  contentEncoding?: string;
  properties: Record<string, string>;
  systemProperties?: Record<string, string | number>;
  body: unknown;
  bodyEncoding?: 'base64';
}

export interface Page {
  messages: WireMessage[];
  cursor: string;
}

export const service = (s: TestServer) => ({ authorization: s.policyToken('service') });

export async function pull(s: TestServer, group: string, query: Record<string, string | number> = {}): Promise<Page> {
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]));
  const res = await s.fetch(`/api/consumergroups/${encodeURIComponent(group)}/messages?${qs}`, { headers: service(s) });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as Page;
}

export async function commit(s: TestServer, group: string, cursor: string): Promise<void> {
  const res = await s.fetch(`/api/consumergroups/${encodeURIComponent(group)}/checkpoint`, { method: 'POST', headers: service(s), body: JSON.stringify({ cursor }) });
  assert.equal(res.status, 204, await res.text());
}

export async function putGroup(s: TestServer, group: string, body?: unknown): Promise<Response> {
  return s.fetch(`/api/consumergroups/${encodeURIComponent(group)}`, { method: 'PUT', headers: service(s), body: body === undefined ? undefined : JSON.stringify(body) });
}

/** Sends `count` JSON messages from each device, all devices at once; returns the bodies sent. */
export async function sendFromDevices(s: TestServer, devices: Device[], count: number, tag = 'm'): Promise<string[]> {
  const sent: string[] = [];
  await Promise.all(devices.map(async (d) => {
    const token = s.deviceToken(d);
    for (let i = 0; i < count; i++) {
      const body = JSON.stringify({ device: d.deviceId, i, tag });
      const res = await s.fetch(`/devices/${d.deviceId}/messages/events`, { method: 'POST', headers: { authorization: token }, body });
      assert.equal(res.status, 204);
      sent.push(body);
    }
  }));
  return sent;
}

export async function createDevices(s: TestServer, n: number, prefix = 'dev'): Promise<Device[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => s.createDevice(`${prefix}-${i}`)));
}

/** Pulls and commits page after page until a pull comes back empty; returns every message. */
export async function drain(s: TestServer, group: string, query: Record<string, string | number> = {}): Promise<WireMessage[]> {
  const all: WireMessage[] = [];
  for (;;) {
    const page = await pull(s, group, query);
    if (page.messages.length === 0) return all;
    all.push(...page.messages);
    await commit(s, group, page.cursor);
  }
}

export const bodyText = (m: WireMessage) => JSON.stringify(m.body);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
