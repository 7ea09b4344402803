// What the pages accept from the APIs: the server's tile types and formats (pinned to the config's
// lists), tiles a newer server may send, malformed answers and rows, the events of a page's stream.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NUMBER_FORMATS as SERVER_FORMATS, TILE_TYPES as SERVER_TYPES } from '../../src/config/dashboard-settings.js';
import { apiUrl, segment } from '../../web/src/lib/api-url.js';
import {
  NUMBER_FORMATS, parseDashboard, parseDashboardList, parseLiveEvents, parseOutputRows, parseRows, parseServerError, parseStreamReset,
  parseStreamRows, parseStreamStatus, parseTile, TILE_TYPES, WireError,
} from '../../web/src/lib/wire.js';

test('the page draws every tile type and format the config accepts', () => {
  assert.deepEqual([...TILE_TYPES].sort(), [...SERVER_TYPES].sort());
  assert.deepEqual([...NUMBER_FORMATS].sort(), [...SERVER_FORMATS].sort());
});

describe('dashboards', () => {
  test('a dashboard and its tiles, defaults filled in', () => {
    const d = parseDashboard({
      name: 'retail', title: 'Retail', description: null, viewer: { tenant: 'brand-a' },
      tiles: [{ type: 'bar', title: 'Top', output: 'TopViewed', value: 'n', key: 'sku', y: null, steps: null, columns: null, labels: null, format: 'count', currency: 'EUR', top: 5, width: 2, problem: null }],
    });
    assert.equal(d.viewer.tenant, 'brand-a');
    assert.deepEqual(d.tiles[0], { type: 'bar', title: 'Top', output: 'TopViewed', value: 'n', key: 'sku', y: null, steps: null, columns: null, labels: null, format: 'count', currency: 'EUR', top: 5, width: 2, problem: null });
    assert.deepEqual(parseTile({ type: 'card', title: 'x', output: 'O', width: 9 }, 0).width, 4);
  });

  test('a tile type or format this page does not know keeps its place and says so', () => {
    const t = parseTile({ type: 'gauge', title: 'g', output: 'O' }, 3);
    assert.match(t.problem!, /does not draw tiles of type 'gauge'/);
    assert.match(parseTile({ type: 'card', title: 'c', output: 'O', format: 'bytes' }, 0).problem!, /number format 'bytes'/);
    assert.equal(parseTile({ type: 'card', title: 'c', output: 'O', problem: 'not configured' }, 0).problem, 'not configured');
  });

  test('a malformed answer is a WireError naming the part', () => {
    assert.throws(() => parseDashboard({ name: 'x', tiles: [{ type: 'card' }] }), (e: unknown) => e instanceof WireError && /tiles\[0\]\.output/.test(e.message));
    assert.throws(() => parseDashboard('<html>'), WireError);
    assert.throws(() => parseDashboardList({ dashboards: 'none' }), WireError);
    assert.deepEqual(parseDashboardList({ dashboards: [{ name: 'a', title: 'A', description: 'd', tiles: 3 }] }), {
      dashboards: [{ name: 'a', title: 'A', description: 'd', tiles: 3 }], viewer: { tenant: null },
    });
  });
});

describe('rows', () => {
  test('rows with their timestamp read; malformed ones counted and left out', () => {
    const a = parseOutputRows({
      output: 'O', kind: 'dashboard', writers: [{ job: 'j', state: 'running', clock: '2026-01-01T12:00:00.000Z', watermark: null }, 'junk'],
      rows: [
        { id: 1, job: 'j', tenant: 'a', timestamp: '2026-01-01T12:00:00.000Z', row: { n: 1 } },
        { id: 2, job: 'j', tenant: 'a', timestamp: 'yesterday', row: { n: 1 } },
        { id: 3, job: 'j', tenant: 'a', timestamp: '2026-01-01T12:00:00.000Z', row: [1] },
        null,
      ],
    });
    assert.deepEqual(a.rows, [{ id: 1, job: 'j', tenant: 'a', timestampMs: Date.UTC(2026, 0, 1, 12), row: { n: 1 } }]);
    assert.equal(a.rejected, 3);
    assert.deepEqual(a.writers, [{ job: 'j', state: 'running', clock: '2026-01-01T12:00:00.000Z', watermark: null }]);
    assert.throws(() => parseRows({ nope: [] }), WireError);
  });

  test('error answers', () => {
    assert.deepEqual(parseServerError({ error: { code: 'invalid_viewer_key', message: 'No such key' } }), { code: 'invalid_viewer_key', message: 'No such key' });
    assert.equal(parseServerError({ rows: [] }), null);
  });
});

describe('a page\'s stream', () => {
  const writer = { job: 'products', state: 'running', clock: '2026-01-01T12:00:00.000Z', watermark: '2026-01-01T11:59:58.000Z' };

  test('rows events name their output (or not, from a stream of one output)', () => {
    const row = { id: 4, job: 'j', tenant: 'a', timestamp: '2026-01-01T12:00:00.000Z', row: { n: 1 } };
    assert.deepEqual(parseStreamRows({ output: 'Funnel', rows: [row, { id: 5 }] }), {
      output: 'Funnel', rows: [{ id: 4, job: 'j', tenant: 'a', timestampMs: Date.UTC(2026, 0, 1, 12), row: { n: 1 } }], rejected: 1,
    });
    assert.equal(parseStreamRows({ rows: [] }).output, null);
    assert.throws(() => parseStreamRows({ output: 'Funnel' }), WireError);
  });

  test('status events: the writers by output, or one list', () => {
    const byOutput = parseStreamStatus({ writers: { Funnel: [writer], Sales: [] } });
    assert.equal(byOutput.kind, 'by-output');
    assert.deepEqual(byOutput.kind === 'by-output' ? [...byOutput.writers] : null, [['Funnel', [writer]], ['Sales', []]]);
    assert.deepEqual(parseStreamStatus({ writers: [writer] }), { kind: 'one-output', writers: [writer] });
    assert.throws(() => parseStreamStatus({ writers: 'none' }), WireError);
  });

  test('reset events: the job, its outputs, and from when (all its rows when null)', () => {
    assert.deepEqual(parseStreamReset({ job: 'products', outputs: ['Funnel', 'Sales'], from: '2026-01-01T12:00:00.000Z' }), { job: 'products', outputs: ['Funnel', 'Sales'], fromMs: Date.UTC(2026, 0, 1, 12) });
    assert.deepEqual(parseStreamReset({ job: 'products', outputs: ['Funnel'], from: null }), { job: 'products', outputs: ['Funnel'], fromMs: null });
    assert.throws(() => parseStreamReset({ job: 'products', outputs: ['Funnel'], from: 'soon' }), /from is not a time/);
    assert.throws(() => parseStreamReset({ outputs: [] }), /job is not text/);
  });
});

test('live events', () => {
  const { events, rejected } = parseLiveEvents({ events: [
    { partition: 0, sequenceNumber: 7, enqueuedTimeUtc: '2026-01-01T12:00:00.000Z', deviceId: 'd1', tenant: 'a', channel: 'web', event: null, properties: { channel: 'web' }, body: 'text' },
    { partition: 0 },
  ] });
  assert.equal(rejected, 1);
  assert.deepEqual(events[0], { partition: 0, sequenceNumber: 7, enqueuedTimeUtc: '2026-01-01T12:00:00.000Z', enqueuedMs: Date.UTC(2026, 0, 1, 12), deviceId: 'd1', tenant: 'a', channel: 'web', event: null, properties: { channel: 'web' }, body: 'text' });
});

test('every API URL carries the key; empty parameters are left out; names are encoded', () => {
  assert.equal(apiUrl(`/api/outputs/${segment('Top Viewed/x')}`, 'vk_a+b', { limit: 5, since: null, tenant: '' }), '/api/outputs/Top%20Viewed%2Fx?key=vk_a%2Bb&limit=5');
});
