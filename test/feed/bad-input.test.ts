// Bad input on the feed routes: a clear 4xx with the error catalogue's code, never a 500.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { pull, putGroup, service } from './feed-client.js';

describe('feed bad input', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
    assert.equal((await putGroup(s, 'other')).status, 201);
  });
  after(() => s.stop());

  const expect = async (res: Response | Promise<Response>, status: number, code: string, message?: RegExp) => {
    const r = await res;
    const body = (await r.json()) as { error: { code: string; message: string } };
    assert.equal(r.status, status, JSON.stringify(body));
    assert.equal(body.error.code, code);
    if (message) assert.match(body.error.message, message);
  };
  const get = (path: string, headers: Record<string, string> = service(s)) => s.fetch(path, { headers });
  const checkpoint = (group: string, body: string) => s.fetch(`/api/consumergroups/${group}/checkpoint`, { method: 'POST', headers: service(s), body });

  test('an unknown group is 404 on every group route; leaving as a reader that holds nothing is 404, as a malformed reader 400', async () => {
    for (const path of ['/api/consumergroups/nope', '/api/consumergroups/nope/messages', '/api/consumergroups/nope/stream']) {
      await expect(get(path), 404, 'consumer_group_not_found');
    }
    await expect(s.fetch('/api/consumergroups/nope', { method: 'DELETE', headers: service(s) }), 404, 'consumer_group_not_found');
    await expect(checkpoint('nope', '{"cursor":"x"}'), 404, 'consumer_group_not_found');
    await expect(s.fetch('/api/consumergroups/nope/readers/r1', { method: 'DELETE', headers: service(s) }), 404, 'consumer_group_not_found');
    await expect(s.fetch('/api/consumergroups/other/readers/r1', { method: 'DELETE', headers: service(s) }), 404, 'reader_not_found');
    await expect(s.fetch('/api/consumergroups/other/readers/not%20valid', { method: 'DELETE', headers: service(s) }), 400, 'invalid_argument', /reader must be/);
  });

  test('an unknown partition is 404', async () => {
    await expect(get('/api/partitions/4/messages'), 404, 'partition_not_found', /0 to 3/);
    await expect(get('/api/partitions/abc/messages'), 404, 'partition_not_found');
    await expect(get('/api/partitions/-1/messages'), 404, 'partition_not_found');
  });

  test('a malformed, forged or foreign cursor is 400', async () => {
    const page = await pull(s, 'other');
    await expect(checkpoint('$Default', JSON.stringify({ cursor: page.cursor })), 400, 'invalid_cursor', /belongs to consumer group 'other'/);
    await expect(checkpoint('other', JSON.stringify({ cursor: `${page.cursor.split('.')[0]}.AAAAAAAAAAAAAAAAAAAAAA` })), 400, 'invalid_cursor');
    await expect(checkpoint('other', JSON.stringify({ cursor: 'garbage' })), 400, 'invalid_cursor');
    await expect(checkpoint('other', JSON.stringify({ cursor: 42 })), 400, 'invalid_cursor');
    await expect(checkpoint('other', '{}'), 400, 'invalid_cursor');
    await expect(checkpoint('other', 'not json'), 400, 'invalid_body');
  });

  test('max, max_bytes, wait_ms, lease_ms, from_time, from_sequence and system_properties out of range are 400 with the allowed range', async () => {
    await expect(get('/api/consumergroups/other/messages?max=0'), 400, 'invalid_argument', /max must be an integer from 1 to 5000/);
    await expect(get('/api/consumergroups/other/messages?max=5001'), 400, 'invalid_argument', /1 to 5000/);
    await expect(get('/api/consumergroups/other/messages?max=ten'), 400, 'invalid_argument', /1 to 5000/);
    await expect(get('/api/consumergroups/other/messages?wait_ms=30001'), 400, 'invalid_argument', /wait_ms must be an integer from 0 to 30000/);
    await expect(get('/api/consumergroups/other/messages?wait_ms=-1'), 400, 'invalid_argument', /0 to 30000/);
    for (const path of ['/api/partitions/0/messages', '/api/consumergroups/other/messages', '/api/consumergroups/other/stream']) {
      await expect(get(`${path}?system_properties=yes`), 400, 'invalid_argument', /system_properties must be true or false/);
      await expect(get(`${path}?max_bytes=1000`), 400, 'invalid_argument', /max_bytes must be an integer from 1024 to 16777216/);
    }
    await expect(get('/api/consumergroups/other/messages?lease_ms=10'), 400, 'invalid_argument', /lease_ms must be an integer from 1000 to 300000/);
    await expect(get('/api/consumergroups/other/messages?reader=a%20b'), 400, 'invalid_argument', /reader must be/);
    await expect(get('/api/partitions/0/messages?max=100000'), 400, 'invalid_argument', /1 to 5000/);
    await expect(get('/api/partitions/0/messages?from_time=yesterday'), 400, 'invalid_argument', /from_time must be an ISO 8601 time .* from 1970-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z/);
    await expect(get('/api/partitions/0/messages?from_time=1969-12-31T23:59:59Z'), 400, 'invalid_argument', /1970-01-01/);
    await expect(get('/api/partitions/0/messages?from_time=2026-02-30T00:00:00'), 400, 'invalid_argument', /with a zone/);
    await expect(get('/api/partitions/0/messages?from_sequence=-3'), 400, 'invalid_argument', /from_sequence/);
    await expect(get('/api/partitions/0/messages?after_offset=abc'), 400, 'invalid_argument', /offset/);
    await expect(get('/api/partitions/0/messages?after_offset=1&from_sequence=2'), 400, 'invalid_argument', /one of/);
    await expect(get('/api/consumergroups/other/stream?heartbeat_ms=10'), 400, 'invalid_argument', /heartbeat_ms/);
  });

  test('bad group bodies and names are 400', async () => {
    await expect(putGroup(s, 'x', { startFrom: 'tomorrow' }), 400, 'invalid_argument', /startFrom must be an ISO 8601 time/);
    await expect(putGroup(s, 'x', { startFrom: 5 }), 400, 'invalid_body');
    await expect(putGroup(s, 'x', { start: 'latest' }), 400, 'invalid_body', /Unknown field "start"/);
    await expect(putGroup(s, '-bad', {}), 400, 'invalid_argument', /Consumer group names/);
    await expect(putGroup(s, 'a'.repeat(51)), 400, 'invalid_argument');
    await expect(s.fetch('/api/consumergroups/$Default', { method: 'DELETE', headers: service(s) }), 400, 'invalid_argument', /always exists/);
  });

  test('a policy without ServiceConnect is 403; a device token or no token is 401', async () => {
    const registryRead = { authorization: s.policyToken('registryRead') };
    const device = await s.createDevice('not-a-service');
    const paths = ['/api/partitions/0/messages', '/api/consumergroups', '/api/consumergroups/$Default', '/api/consumergroups/$Default/messages', '/api/consumergroups/$Default/stream'];
    for (const path of paths) {
      await expect(get(path, registryRead), 403, 'forbidden', /does not allow ServiceConnect/);
      await expect(get(path, { authorization: s.deviceToken(device) }), 401, 'unauthorized', /does not cover/);
      await expect(get(path, {}), 401, 'unauthorized');
    }
    await expect(s.fetch('/api/consumergroups/$Default/checkpoint', { method: 'POST', headers: registryRead, body: '{}' }), 403, 'forbidden');
    await expect(s.fetch('/api/consumergroups/new-one', { method: 'PUT', headers: registryRead }), 403, 'forbidden');
  });
});
