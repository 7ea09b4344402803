// Bad input on the feed routes: a clear 4xx with the error catalogue's code, never a 500, and no
// change to the log, the groups, their checkpoints or their leases. One test per case.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertErrorResponse } from '../helpers/error-shape.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { storedState } from '../helpers/stored-state.js';
import { commit, createDevices, pull, sendFromDevices, service } from './feed-client.js';

interface Fixture {
  s: TestServer;
  /** A cursor of group `other`, handed out and not committed. */
  cursor: string;
  deviceToken: string;
}

interface Case {
  readonly name: string;
  readonly path: string;
  /** Default: GET. */
  readonly method?: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** Default: the service policy. */
  readonly auth?: (f: Fixture) => Record<string, string>;
  readonly body?: (f: Fixture) => string;
  readonly status: number;
  readonly code: string;
  readonly message?: RegExp;
}

const checkpoint = (group: string, body: (f: Fixture) => string): Pick<Case, 'path' | 'method' | 'body'> => ({ path: `/api/consumergroups/${group}/checkpoint`, method: 'POST', body });
const putGroup = (group: string, body?: unknown): Pick<Case, 'path' | 'method' | 'body'> => ({ path: `/api/consumergroups/${encodeURIComponent(group)}`, method: 'PUT', ...(body === undefined ? {} : { body: () => JSON.stringify(body) }) });
const invalid = (message: RegExp) => ({ status: 400, code: 'invalid_argument', message });

const READ_PATHS = ['/api/partitions/0/messages', '/api/consumergroups/other/messages', '/api/consumergroups/other/stream'];
const SERVICE_PATHS = ['/api/partitions/0/messages', '/api/consumergroups', '/api/consumergroups/$Default', '/api/consumergroups/$Default/messages', '/api/consumergroups/$Default/stream'];

const CASES: readonly Case[] = [
  // Unknown groups, readers and partitions.
  { name: 'reading an unknown group', path: '/api/consumergroups/nope', status: 404, code: 'consumer_group_not_found' },
  { name: 'pulling from an unknown group', path: '/api/consumergroups/nope/messages', status: 404, code: 'consumer_group_not_found' },
  { name: 'streaming an unknown group', path: '/api/consumergroups/nope/stream', status: 404, code: 'consumer_group_not_found' },
  { name: 'deleting an unknown group', path: '/api/consumergroups/nope', method: 'DELETE', status: 404, code: 'consumer_group_not_found' },
  { name: 'checkpointing an unknown group', ...checkpoint('nope', (f) => JSON.stringify({ cursor: f.cursor })), status: 404, code: 'consumer_group_not_found' },
  { name: 'a reader leaving an unknown group', path: '/api/consumergroups/nope/readers/r1', method: 'DELETE', status: 404, code: 'consumer_group_not_found' },
  { name: 'a reader leaving a group in which it holds nothing', path: '/api/consumergroups/other/readers/r1', method: 'DELETE', status: 404, code: 'reader_not_found' },
  { name: 'a malformed reader leaving', path: '/api/consumergroups/other/readers/not%20valid', method: 'DELETE', ...invalid(/reader must be/) },
  { name: 'partition 4 of 4', path: '/api/partitions/4/messages', status: 404, code: 'partition_not_found', message: /0 to 3/ },
  { name: 'a partition that is not a number', path: '/api/partitions/abc/messages', status: 404, code: 'partition_not_found' },
  { name: 'a negative partition', path: '/api/partitions/-1/messages', status: 404, code: 'partition_not_found' },
  // Cursors.
  { name: "another group's cursor", ...checkpoint('$Default', (f) => JSON.stringify({ cursor: f.cursor })), status: 400, code: 'invalid_cursor', message: /belongs to consumer group 'other'/ },
  { name: 'a cursor with a forged signature', ...checkpoint('other', (f) => JSON.stringify({ cursor: `${f.cursor.split('.')[0]}.AAAAAAAAAAAAAAAAAAAAAA` })), status: 400, code: 'invalid_cursor' },
  { name: 'a cursor that is garbage', ...checkpoint('other', () => JSON.stringify({ cursor: 'garbage' })), status: 400, code: 'invalid_cursor' },
  { name: 'a cursor that is a number', ...checkpoint('other', () => JSON.stringify({ cursor: 42 })), status: 400, code: 'invalid_cursor' },
  { name: 'a checkpoint without a cursor', ...checkpoint('other', () => '{}'), status: 400, code: 'invalid_cursor' },
  { name: 'a checkpoint body that is not JSON', ...checkpoint('other', () => 'not json'), status: 400, code: 'invalid_body' },
  // Parameters out of range.
  { name: 'max=0', path: '/api/consumergroups/other/messages?max=0', ...invalid(/max must be an integer from 1 to 5000/) },
  { name: 'max=5001', path: '/api/consumergroups/other/messages?max=5001', ...invalid(/1 to 5000/) },
  { name: 'max=ten', path: '/api/consumergroups/other/messages?max=ten', ...invalid(/1 to 5000/) },
  { name: 'wait_ms=30001', path: '/api/consumergroups/other/messages?wait_ms=30001', ...invalid(/wait_ms must be an integer from 0 to 30000/) },
  { name: 'wait_ms=-1', path: '/api/consumergroups/other/messages?wait_ms=-1', ...invalid(/0 to 30000/) },
  ...READ_PATHS.flatMap((path): Case[] => [
    { name: `system_properties=yes on ${path}`, path: `${path}?system_properties=yes`, ...invalid(/system_properties must be true or false/) },
    { name: `max_bytes=1000 on ${path}`, path: `${path}?max_bytes=1000`, ...invalid(/max_bytes must be an integer from 1024 to 16777216/) },
  ]),
  { name: 'lease_ms=10', path: '/api/consumergroups/other/messages?lease_ms=10', ...invalid(/lease_ms must be an integer from 1000 to 300000/) },
  { name: 'a malformed reader', path: '/api/consumergroups/other/messages?reader=a%20b', ...invalid(/reader must be/) },
  { name: 'max=100000 on a partition read', path: '/api/partitions/0/messages?max=100000', ...invalid(/1 to 5000/) },
  { name: 'from_time=yesterday', path: '/api/partitions/0/messages?from_time=yesterday', ...invalid(/from_time must be an ISO 8601 time .* from 1970-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z/) },
  { name: 'from_time before 1970', path: '/api/partitions/0/messages?from_time=1969-12-31T23:59:59Z', ...invalid(/1970-01-01/) },
  { name: 'from_time without a zone', path: '/api/partitions/0/messages?from_time=2026-02-30T00:00:00', ...invalid(/with a zone/) },
  { name: 'from_sequence=-3', path: '/api/partitions/0/messages?from_sequence=-3', ...invalid(/from_sequence/) },
  { name: 'after_offset=abc', path: '/api/partitions/0/messages?after_offset=abc', ...invalid(/offset/) },
  { name: 'two start positions', path: '/api/partitions/0/messages?after_offset=1&from_sequence=2', ...invalid(/one of/) },
  { name: 'heartbeat_ms=10', path: '/api/consumergroups/other/stream?heartbeat_ms=10', ...invalid(/heartbeat_ms/) },
  // Group bodies and names: no group is created or repositioned.
  { name: 'a new group starting tomorrow', ...putGroup('x', { startFrom: 'tomorrow' }), ...invalid(/startFrom must be an ISO 8601 time/) },
  { name: 'repositioning a group to a time that is not one', ...putGroup('other', { startFrom: 'tomorrow' }), ...invalid(/startFrom must be an ISO 8601 time/) },
  { name: 'startFrom that is a number', ...putGroup('x', { startFrom: 5 }), status: 400, code: 'invalid_body' },
  { name: 'an unknown field in a group body', ...putGroup('x', { start: 'latest' }), status: 400, code: 'invalid_body', message: /Unknown field "start"/ },
  { name: 'repositioning a group with an unknown field', ...putGroup('other', { start: 'latest' }), status: 400, code: 'invalid_body' },
  { name: 'a group body that is not an object', ...putGroup('x', ['latest']), status: 400, code: 'invalid_body' },
  { name: 'a group name starting with a dash', ...putGroup('-bad', {}), ...invalid(/Consumer group names/) },
  { name: 'a group name of 51 characters', ...putGroup('a'.repeat(51)), ...invalid(/Consumer group names/) },
  { name: 'deleting $Default', path: '/api/consumergroups/$Default', method: 'DELETE', ...invalid(/always exists/) },
  // Rights: ServiceConnect or nothing.
  ...SERVICE_PATHS.flatMap((path): Case[] => [
    { name: `registryRead on ${path}`, path, auth: (f) => ({ authorization: f.s.policyToken('registryRead') }), status: 403, code: 'forbidden', message: /does not allow ServiceConnect/ },
    { name: `a device token on ${path}`, path, auth: (f) => ({ authorization: f.deviceToken }), status: 401, code: 'unauthorized', message: /does not cover/ },
    { name: `no token on ${path}`, path, auth: () => ({}), status: 401, code: 'unauthorized' },
  ]),
  { name: 'a checkpoint with registryRead', ...checkpoint('other', (f) => JSON.stringify({ cursor: f.cursor })), auth: (f) => ({ authorization: f.s.policyToken('registryRead') }), status: 403, code: 'forbidden' },
  { name: 'creating a group with registryRead', ...putGroup('new-one'), auth: (f) => ({ authorization: f.s.policyToken('registryRead') }), status: 403, code: 'forbidden' },
  { name: 'deleting a group with registryRead', path: '/api/consumergroups/other', method: 'DELETE', auth: (f) => ({ authorization: f.s.policyToken('registryRead') }), status: 403, code: 'forbidden' },
];

describe('feed bad input', () => {
  const f = {} as Fixture;
  before(async () => {
    f.s = await startTestServer();
    const devices = await createDevices(f.s, 4, 'feed-bad');
    f.deviceToken = f.s.deviceToken(devices[0]!);
    await sendFromDevices(f.s, devices, 3);
    // Group `other` has a checkpoint, a lease and a cursor handed out: state a bad request could disturb.
    assert.equal((await f.s.fetch('/api/consumergroups/other', { method: 'PUT', headers: service(f.s) })).status, 201);
    await commit(f.s, 'other', (await pull(f.s, 'other', { max: 4 })).cursor);
    f.cursor = (await pull(f.s, 'other', { max: 4 })).cursor;
  });
  after(() => f.s.stop());

  for (const c of CASES) {
    test(c.name, async () => {
      const headers = c.auth ? c.auth(f) : service(f.s);
      const stateBefore = await storedState(f.s);
      await assertErrorResponse(await f.s.fetch(c.path, { method: c.method ?? 'GET', headers, body: c.body?.(f) }), 'omnistream', c);
      assert.deepEqual(await storedState(f.s), stateBefore, 'the log and the consumer groups are as they were');
    });
  }

  test('the cursor the cases refused still commits', async () => {
    const res = await f.s.fetch('/api/consumergroups/other/checkpoint', { method: 'POST', headers: service(f.s), body: JSON.stringify({ cursor: f.cursor }) });
    assert.equal(res.status, 204, await res.text());
  });
});
