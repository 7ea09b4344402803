// The geospatial functions through the engine's index: the reference's own examples (where they
// are right), hand-checked shapes, Well-Known Text and GeoJSON text as reference files hold them,
// ring orientation, bad shapes, and the geofence join — a shopper's point within a store's polygon.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileQuery, toJson, type EventDiagnostic, type Row } from '../../src/query/index.js';

function run(query: string, events: readonly [string, Record<string, unknown>][], references: Record<string, Record<string, unknown>[]> = {}) {
  const rows: Record<string, unknown>[] = [];
  const diagnostics: EventDiagnostic[] = [];
  const runner = compileQuery(query, { references: Object.keys(references) }).createRunner({
    references: references as Record<string, Row[]>,
    onRow: (_, row) => rows.push(toJson(row) as Record<string, unknown>),
    onDiagnostic: (d) => diagnostics.push(d),
  });
  for (const [input, e] of events) runner.push(input, e as Row);
  runner.end();
  return { rows, diagnostics };
}

const point = (lon: number, lat: number) => ({ type: 'Point', coordinates: [lon, lat] });
const square = (a: number, b: number) => ({ type: 'Polygon', coordinates: [[[a, a], [b, a], [b, b], [a, b], [a, a]]] });
const lineString = (...p: number[][]) => ({ type: 'LineString', coordinates: p });

describe('building shapes', () => {
  test('CreatePoint(latitude, longitude) is a GeoJSON point with [longitude, latitude]; the reference\'s CreatePolygon example', () => {
    const r = run(`SELECT CreatePoint(latitude, longitude) AS p,
      CreatePolygon(CreatePoint(latitude, longitude), CreatePoint(10.0, 10.0), CreatePoint(10.5, 10.5), CreatePoint(latitude, longitude)) AS poly,
      CreateLineString(CreatePoint(latitude, longitude), CreatePoint(10.0, 10.0)) AS line
      INTO out FROM input`, [['input', { latitude: 3.0, longitude: -10.2 }], ['input', { latitude: -87.33, longitude: 20.2321 }]]);
    assert.deepEqual(r.rows, [
      { p: point(-10.2, 3), poly: { type: 'Polygon', coordinates: [[[-10.2, 3], [10, 10], [10.5, 10.5], [-10.2, 3]]] }, line: lineString([-10.2, 3], [10, 10]) },
      { p: point(20.2321, -87.33), poly: { type: 'Polygon', coordinates: [[[20.2321, -87.33], [10, 10], [10.5, 10.5], [20.2321, -87.33]]] }, line: lineString([20.2321, -87.33], [10, 10]) },
    ]);
  });

  test('a polygon that does not close, or has too few points, or a latitude out of range: NULL and a diagnostic per event', () => {
    const r = run('SELECT CreatePolygon(CreatePoint(a, 0), CreatePoint(1, 1), CreatePoint(2, 0), CreatePoint(0, 0)) AS p, CreatePoint(a, 0) AS q INTO out FROM input',
      [['input', { a: 0 }], ['input', { a: 5 }], ['input', { a: 95 }]]);
    assert.equal(r.rows[0]!.p !== null, true);
    assert.deepEqual(r.rows.slice(1).map((x) => x.p), [null, null]);
    assert.deepEqual(r.diagnostics.map((d) => d.message), [
      'CreatePolygon: the first and last points of a polygon must be equal, to close its ring',
      'CreatePoint: latitude 95 is outside -90…90',
      'CreatePoint: latitude 95 is outside -90…90',
    ]);
  });

  test('an invalid constant polygon is a compile error at its line and column', () => {
    assert.throws(() => compileQuery('SELECT\n  CreatePolygon(CreatePoint(0, 0), CreatePoint(1, 1), CreatePoint(0, 1), CreatePoint(2, 2)) AS fence FROM input'), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'CONSTANT_TYPE_ERROR');
      assert.match(e.message, /^2:3: CreatePolygon: the first and last points of a polygon must be equal/);
      return true;
    });
  });
});

describe('measuring and relating shapes', () => {
  test('ST_DISTANCE: the reference\'s example to the millimetre (WGS 84 geodesic), a degree of the equator, 0 with a polygon', () => {
    const r = run('SELECT ST_DISTANCE(a, b) AS d INTO out FROM input', [
      ['input', { a: point(-5, -5), b: point(0, 0) }],
      ['input', { a: point(0, 0), b: point(1, 0) }],
      ['input', { a: point(0, 0), b: square(0, 1) }],
      ['input', { a: point(2.35, 48.85), b: point(2.35, 48.85) }],
    ]);
    assert.ok(Math.abs((r.rows[0]!.d as number) - 784028.74077501823) < 0.002, String(r.rows[0]!.d));
    // One degree of longitude on the equator is a / 180 · π on the ellipsoid.
    assert.ok(Math.abs((r.rows[1]!.d as number) - (6378137 * Math.PI) / 180) < 1e-6);
    assert.deepEqual(r.rows.slice(2).map((x) => x.d), [0, 0]);
  });

  test('ST_WITHIN, ST_INTERSECTS, ST_OVERLAPS: the reference\'s examples, written as it writes them', () => {
    const r = run('SELECT ST_WITHIN(p, poly) AS w, ST_INTERSECTS(l1, l2) AS i, ST_OVERLAPS(a, b) AS o INTO out FROM input', [
      ['input', { p: point(76.6, 10.1), poly: square(0, 10), l1: lineString([-10, 0], [0, 0], [10, 0]), l2: lineString([0, 10], [0, 0], [0, -10]),
        a: { type: 'Polygon', coordinates: [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]] }, b: { type: 'Polygon', coordinates: [[30, 30], [40, 30], [40, 40], [30, 40], [30, 30]] } }],
      ['input', { p: point(15, 15), poly: square(10, 20), l1: lineString([-10, 0], [0, 0], [10, 0]), l2: lineString([-10, 10], [0, 10], [10, 10]),
        a: { type: 'Polygon', coordinates: [[0, 0], [20, 0], [20, 20], [0, 20], [0, 0]] }, b: { type: 'Polygon', coordinates: [[10, 10], [40, 10], [40, 40], [40, 20], [40, 40]] } }],
    ]);
    assert.deepEqual(r.rows, [{ w: 0, i: 1, o: 0 }, { w: 1, i: 0, o: 1 }]);
    assert.deepEqual(r.diagnostics, []);
  });

  test('hand-checked relations: boundary, containment, touching, a polygon within a polygon', () => {
    const r = run('SELECT ST_WITHIN(x, y) AS w, ST_INTERSECTS(x, y) AS i, ST_OVERLAPS(x, y) AS o INTO out FROM input', [
      ['input', { x: point(0, 5), y: square(0, 10) }], // on the boundary: intersects, not within
      ['input', { x: square(2, 4), y: square(0, 10) }], // inside: within, not overlapping
      ['input', { x: square(10, 12), y: square(0, 10) }], // corners touch
      ['input', { x: square(5, 15), y: square(0, 10) }], // overlap
      ['input', { x: square(0, 10), y: square(0, 10) }], // equal: within, not overlapping
    ]);
    assert.deepEqual(r.rows, [
      { w: 0, i: 1, o: 0 }, { w: 1, i: 1, o: 0 }, { w: 0, i: 1, o: 0 }, { w: 0, i: 1, o: 1 }, { w: 1, i: 1, o: 0 },
    ]);
  });

  test('a clockwise ring (left-hand) is the globe except what it encloses', () => {
    const clockwise = { type: 'Polygon', coordinates: [[[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]]] };
    const r = run('SELECT ST_WITHIN(p, fence) AS w INTO out FROM input', [['input', { p: point(5, 5), fence: clockwise }], ['input', { p: point(50, 5), fence: clockwise }]]);
    assert.deepEqual(r.rows, [{ w: 0 }, { w: 1 }]);
  });

  test('shapes as WKT or GeoJSON text; something else is NULL and a diagnostic', () => {
    const r = run('SELECT ST_WITHIN(p, fence) AS w INTO out FROM input', [
      ['input', { p: 'POINT(5 5)', fence: 'POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))' }],
      ['input', { p: JSON.stringify(point(5, 5)), fence: JSON.stringify(square(0, 10)) }],
      ['input', { p: 'somewhere', fence: JSON.stringify(square(0, 10)) }],
      ['input', { p: point(5, 5), fence: 'POLYGON((0 0, 10 0, 10 10, 0 0), (1 1, 2 1, 2 2, 1 1))' }],
    ]);
    assert.deepEqual(r.rows, [{ w: 1 }, { w: 1 }, { w: null }, { w: null }]);
    assert.deepEqual(r.diagnostics.map((d) => d.message), [
      "ST_WITHIN: 'somewhere' is neither GeoJSON nor WKT POINT, LINESTRING or POLYGON",
      'ST_WITHIN: polygons cannot have holes',
    ]);
  });
});

describe('geofencing with reference data', () => {
  // The reference's geofencing scenario: three buildings as WKT polygons, devices reporting WKT points.
  const sites = [
    { SiteID: 1, SiteName: 'Redmond Building 41', AllowedDeviceID: 'B', Geofence: 'POLYGON((-122.1337357922017 47.63782998329432,-122.13373042778369 47.637634793257305,-122.13346757130023 47.637642022530954,-122.13348902897235 47.637508280806806,-122.13361777500506 47.637508280806806,-122.13361241058703 47.63732393354484,-122.13265754417773 47.63730947490855,-122.13266290859576 47.637519124743164,-122.13302232460376 47.637515510097955,-122.13301696018573 47.63764925180358,-122.13272728161212 47.63764925180358,-122.13274873928424 47.63784082716388,-122.13373579220172 47.63782998329432))' },
    { SiteID: 2, SiteName: 'Redmond Building 40', AllowedDeviceID: 'A', Geofence: 'POLYGON((-122.1336154507967 47.6366745947009,-122.13361008637867 47.636483015064535,-122.13349206918201 47.636479400347675,-122.13349743360004 47.63636372927573,-122.13372810357532 47.63636372927573,-122.13373346799335 47.63617576323771,-122.13263912671528 47.63616491902258,-122.13264985555134 47.63635649982525,-122.13304682248554 47.636367344000604,-122.13305218690357 47.63650831807564,-122.13276250832996 47.636497473929516,-122.13277323716602 47.63668543881025,-122.1336154507967 47.6366745947009))' },
    { SiteID: 3, SiteName: 'Redmond Building 22', AllowedDeviceID: 'C', Geofence: 'POLYGON((-122.13611660248233 47.63758544698554,-122.13635263687564 47.6374083293018,-122.13622389084293 47.63733603619712,-122.13622389084293 47.63717699101473,-122.13581619507266 47.63692757827657,-122.13559625393344 47.637046862778135,-122.13569281345798 47.637144458985965,-122.13570890671207 47.637314348246214,-122.13611660248233 47.63758544698554))' },
  ];
  const devices: [string, Record<string, unknown>][] = [
    ['DeviceStreamInput', { DeviceID: 'A', GeoPosition: 'POINT(-122.13292341559497 47.636318374032726)' }],
    ['DeviceStreamInput', { DeviceID: 'B', GeoPosition: 'POINT(-122.13338475554553 47.63743531308874)' }],
    ['DeviceStreamInput', { DeviceID: 'C', GeoPosition: 'POINT(-122.13354001095752 47.63627622505007)' }],
  ];

  test('the reference\'s alert: device C sits in building 40, which is not its own', () => {
    const r = run(`SELECT DeviceStreamInput.DeviceID, SiteReferenceInput.SiteID, SiteReferenceInput.SiteName INTO Output
      FROM DeviceStreamInput JOIN SiteReferenceInput
      ON st_within(DeviceStreamInput.GeoPosition, SiteReferenceInput.Geofence) = 0
      WHERE DeviceStreamInput.DeviceID = SiteReferenceInput.AllowedDeviceID`, devices, { SiteReferenceInput: sites });
    assert.deepEqual(r.rows, [{ DeviceID: 'C', SiteID: 3, SiteName: 'Redmond Building 22' }]);
  });

  test('which store each shopper is in, from a point built of the event\'s coordinates, counted per window', () => {
    const r = run(`SELECT s.SiteName AS store, COUNT(*) AS shoppers, System.Timestamp() AS w INTO counts
      FROM shoppers p TIMESTAMP BY at JOIN stores s ON ST_WITHIN(CreatePoint(p.lat, p.lon), s.Geofence) = 1
      GROUP BY s.SiteName, TumblingWindow(minute, 1)`, [
      ['shoppers', { at: '2024-03-01T10:00:05Z', lat: 47.636318374032726, lon: -122.13292341559497 }],
      ['shoppers', { at: '2024-03-01T10:00:15Z', lat: 47.63743531308874, lon: -122.13338475554553 }],
      ['shoppers', { at: '2024-03-01T10:00:25Z', lat: 47.63627622505007, lon: -122.13354001095752 }],
      ['shoppers', { at: '2024-03-01T10:00:35Z', lat: 47.6, lon: -122.2 }],
    ], { stores: sites });
    assert.deepEqual(r.rows, [
      { store: 'Redmond Building 40', shoppers: 2, w: '2024-03-01T10:01:00.0000000Z' },
      { store: 'Redmond Building 41', shoppers: 1, w: '2024-03-01T10:01:00.0000000Z' },
    ]);
  });
});
