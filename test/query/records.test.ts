import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rowsOf } from './run-query.js';

const device = {
  DeviceId: 'dev-1',
  Location: { Lat: 47.6, Long: -122.1 },
  SensorReadings: { Temperature: 80, Humidity: 70, SensorMetadata: { Version: '1.2.45' } },
  CustomSensor: [{ smKey: 'Temp', smValue: 21 }, { smKey: 'Hum', smValue: 40 }],
  rules: { includeDim: ['a', 'b'] },
};

describe('records and arrays', () => {
  test('dot paths at any depth; the column is named by the last segment', () => {
    assert.deepEqual(
      rowsOf(`SELECT DeviceId, i.SensorReadings.Temperature, SensorReadings.SensorMetadata.Version, rules.includeDim.[0] AS first FROM input i`, [device]),
      [{ DeviceId: 'dev-1', Temperature: 80, Version: '1.2.45', first: 'a' }],
    );
  });

  test('record.* expands a record into columns', () => {
    assert.deepEqual(rowsOf(`SELECT DeviceId, Location.* FROM input`, [device]), [{ DeviceId: 'dev-1', Lat: 47.6, Long: -122.1 }]);
  });

  test('GetRecordPropertyValue, GetArrayElement (0-based), GetArrayLength', () => {
    assert.deepEqual(
      rowsOf(`SELECT GetRecordPropertyValue(SensorReadings, 'humidity') AS h, GetArrayElement(CustomSensor, 1) AS second,
                GetArrayElement(CustomSensor, 5) AS missing, GetArrayLength(CustomSensor) AS n FROM input`, [device]),
      [{ h: 70, second: { smKey: 'Hum', smValue: 40 }, missing: null, n: 2 }],
    );
  });

  test('CROSS APPLY GetArrayElements: one row per element with ArrayIndex and ArrayValue', () => {
    assert.deepEqual(
      rowsOf(`SELECT e.DeviceId, s.ArrayIndex, s.ArrayValue.smKey AS smKey, s.ArrayValue.smValue AS smValue
              FROM input e CROSS APPLY GetArrayElements(e.CustomSensor) AS s`, [device]),
      [
        { DeviceId: 'dev-1', ArrayIndex: 0, smKey: 'Temp', smValue: 21 },
        { DeviceId: 'dev-1', ArrayIndex: 1, smKey: 'Hum', smValue: 40 },
      ],
    );
  });

  test('CROSS APPLY GetRecordProperties; CROSS APPLY drops, OUTER APPLY keeps, events without elements', () => {
    assert.deepEqual(
      rowsOf(`SELECT p.PropertyName, p.PropertyValue FROM input CROSS APPLY GetRecordProperties(Location) AS p`, [device]),
      [{ PropertyName: 'Lat', PropertyValue: 47.6 }, { PropertyName: 'Long', PropertyValue: -122.1 }],
    );
    const empty = [{ DeviceId: 'x', CustomSensor: [] }];
    assert.deepEqual(rowsOf(`SELECT DeviceId, s.ArrayValue FROM input CROSS APPLY GetArrayElements(CustomSensor) AS s`, empty), []);
    assert.deepEqual(rowsOf(`SELECT DeviceId, s.ArrayValue FROM input OUTER APPLY GetArrayElements(CustomSensor) AS s`, empty), [{ DeviceId: 'x', ArrayValue: null }]);
  });

  test('a missing field reads as NULL; identifiers are case-insensitive', () => {
    assert.deepEqual(rowsOf(`SELECT deviceid, NoSuchField, sensorreadings.temperature AS t FROM input`, [device]), [{ deviceid: 'dev-1', NoSuchField: null, t: 80 }]);
  });

  test('SELECT * passes events through', () => {
    assert.deepEqual(rowsOf(`SELECT * FROM input WHERE a > 1`, [{ a: 1 }, { a: 2, b: [1] }]), [{ a: 2, b: [1] }]);
  });

  test('GetMetadataPropertyValue reads the IoT Hub properties of the event', () => {
    assert.deepEqual(
      rowsOf(`SELECT GetMetadataPropertyValue(i, '[EventHub].[EventEnqueuedUtcTime]') AS enqueued, GetMetadataPropertyValue(i, 'IoTHub.ConnectionDeviceId') AS device FROM input i`,
        [{ EventEnqueuedUtcTime: '2023-01-01T00:00:00Z', IoTHub: { ConnectionDeviceId: 'phone-1' } }]),
      [{ enqueued: '2023-01-01T00:00:00Z', device: 'phone-1' }],
    );
  });
});
