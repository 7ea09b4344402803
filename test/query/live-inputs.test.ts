// What a live job gives the engine beyond a file: metadata beside an event's fields, and
// reference data that changes over time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileQuery, EVENT_METADATA, toJson, type Row } from '../../src/query/index.js';
import { at, t } from './run-query.js';

test('GetMetadataPropertyValue reads an event\'s metadata (tenant, application properties); SELECT * does not show it', () => {
  const rows: unknown[] = [];
  const runner = compileQuery(`
    SELECT GetMetadataPropertyValue(e, 'Tenant') AS tenant, GetMetadataPropertyValue(e, '[User].[channel]') AS channel,
           GetMetadataPropertyValue(e, 'IoTHub.ConnectionDeviceId') AS device, GetMetadataPropertyValue(e, 'Missing') AS missing
    INTO meta FROM events e;
    SELECT * INTO everything FROM events`).createRunner({ onRow: (output, row) => rows.push([output, toJson(row)]) });
  const event: Row = { sku: 'A', IoTHub: { ConnectionDeviceId: 'dev-1' } };
  (event as Row & { [EVENT_METADATA]?: Row })[EVENT_METADATA] = { Tenant: 'brand-a', User: { channel: 'web' } };
  runner.push('events', event, at(t(1)));
  runner.end();
  assert.deepEqual(rows, [
    ['meta', { tenant: 'brand-a', channel: 'web', device: 'dev-1', missing: null }],
    ['everything', { sku: 'A', IoTHub: { ConnectionDeviceId: 'dev-1' } }],
  ]);
});

test('versioned reference data: each event joins the rows valid at its timestamp', () => {
  const v1: Row[] = [{ sku: 'A', price: '10' }];
  const v2: Row[] = [{ sku: 'A', price: '12' }, { sku: 'B', price: '5' }];
  const seen: number[] = [];
  const products = { rowsAt: (ms: number) => { seen.push(ms); return ms < at(t(10)) ? v1 : v2; } };
  const rows: unknown[] = [];
  const runner = compileQuery('SELECT e.sku, p.price INTO out FROM events e TIMESTAMP BY time JOIN products p ON e.sku = p.sku', { references: ['products'] })
    .createRunner({ references: { products }, onRow: (_o, row) => rows.push(toJson(row)) });
  runner.push('events', { sku: 'A', time: t(5) }, at(t(5)));
  runner.push('events', { sku: 'B', time: t(6) }, at(t(6)));
  runner.push('events', { sku: 'A', time: t(11) }, at(t(11)));
  runner.push('events', { sku: 'B', time: t(12) }, at(t(12)));
  runner.end();
  assert.deepEqual(rows, [{ sku: 'A', price: '10' }, { sku: 'A', price: '12' }, { sku: 'B', price: '5' }]);
  assert.deepEqual(seen, [at(t(5)), at(t(6)), at(t(11)), at(t(12))], 'looked up at each event\'s timestamp');
});

test('an event held back by the out-of-order tolerance keeps its metadata through a checkpoint', () => {
  const text = "SELECT GetMetadataPropertyValue(e, '[User].[channel]') AS channel, COUNT(*) AS n INTO out FROM events e TIMESTAMP BY time GROUP BY GetMetadataPropertyValue(e, '[User].[channel]'), TumblingWindow(second, 10)";
  const compiled = compileQuery(text);
  const rows: unknown[] = [];
  const options = { policy: { outOfOrderToleranceMs: 5_000 }, onRow: (_o: string, row: Row) => rows.push(toJson(row)) };
  const first = compiled.createRunner(options);
  const event: Row = { time: t(3) };
  (event as Row & { [EVENT_METADATA]?: Row })[EVENT_METADATA] = { User: { channel: 'ios' } };
  first.push('events', event, at(t(3)));
  const second = compiled.createRunner(options);
  second.restore(JSON.parse(JSON.stringify(first.snapshot())) as ReturnType<typeof first.snapshot>);
  second.end();
  assert.deepEqual(rows, [{ channel: 'ios', n: 1 }]);
});
