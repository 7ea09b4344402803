// The geospatial functions: CreatePoint, CreateLineString, CreatePolygon build GeoJSON records;
// ST_DISTANCE, ST_WITHIN, ST_INTERSECTS, ST_OVERLAPS read them — or the same shapes written as
// GeoJSON text or Well-Known Text ('POINT(lon lat)', 'POLYGON((…))'), as reference files hold them.
//
// As the cloud service: coordinates are [longitude, latitude]; ST_DISTANCE is the geodesic
// distance in metres on the WGS 84 ellipsoid (Vincenty's formula, which reproduces the reference's
// own example to the millimetre), and 0 when either side is not a point; a ring follows the
// right-hand rule — walking it, the inside is on the left — so a clockwise ring stands for the
// whole globe except what it encloses. Unlike the service, edges between two vertices are
// straight in longitude/latitude rather than great-circle arcs: the same answers for store- and
// city-sized shapes, apart within metres of an edge hundreds of kilometres long.
import { ConversionFailure, toNumber } from '../model/conversions.js';
import { isRecord, newRow, typeOf, type Row, type Value } from '../model/values.js';
import type { ScalarFunction } from './scalar-functions.js';

type Position = readonly [lon: number, lat: number];

/** A shape read from a value. A polygon's ring is closed (last = first) and knows its orientation. */
type Shape =
  | { readonly kind: 'point'; readonly at: Position }
  | { readonly kind: 'line'; readonly points: readonly Position[] }
  | { readonly kind: 'polygon'; readonly ring: readonly Position[]; readonly complement: boolean };

const fn = (minArgs: number, maxArgs: number, call: ScalarFunction['call']): ScalarFunction => ({ minArgs, maxArgs, call });

export const geospatialFunctions: Readonly<Record<string, ScalarFunction>> = {
  createpoint: fn(2, 2, ([lat, lon]) => {
    if (lat === null || lon === null || lat === undefined || lon === undefined) return null;
    const y = toNumber(lat), x = toNumber(lon);
    if (y === null || x === null) return new ConversionFailure(`CreatePoint takes a latitude and a longitude, found ${typeOf(lat)} and ${typeOf(lon)}`);
    if (!(y >= -90 && y <= 90)) return new ConversionFailure(`latitude ${y} is outside -90…90`);
    if (!(x >= -180 && x <= 180)) return new ConversionFailure(`longitude ${x} is outside -180…180`);
    return geoJson('Point', [x, y]);
  }),
  createlinestring: fn(2, Infinity, (args) => {
    const points = pointsOf(args, 'CreateLineString');
    if (points === null || points instanceof ConversionFailure) return points;
    return geoJson('LineString', points.map((p) => [p[0], p[1]]));
  }),
  createpolygon: fn(4, Infinity, (args) => {
    const points = pointsOf(args, 'CreatePolygon');
    if (points === null || points instanceof ConversionFailure) return points;
    const first = points[0]!, last = points[points.length - 1]!;
    if (first[0] !== last[0] || first[1] !== last[1]) return new ConversionFailure('the first and last points of a polygon must be equal, to close its ring');
    if (new Set(points.slice(1).map((p) => `${p[0]},${p[1]}`)).size < 3) return new ConversionFailure('a polygon needs at least 3 distinct points');
    return geoJson('Polygon', [points.map((p) => [p[0], p[1]])]);
  }),
  st_distance: fn(2, 2, ([a, b]) => binary(a, b, (x, y) => (x.kind === 'point' && y.kind === 'point' ? geodesicMetres(x.at, y.at) : 0))),
  st_within: fn(2, 2, ([a, b]) => binary(a, b, (x, y) => {
    if (y.kind !== 'polygon') return new ConversionFailure('ST_WITHIN\'s second argument must be a polygon');
    return within(x, y) ? 1 : 0;
  })),
  st_intersects: fn(2, 2, ([a, b]) => binary(a, b, (x, y) => (intersects(x, y) ? 1 : 0))),
  st_overlaps: fn(2, 2, ([a, b]) => binary(a, b, (x, y) => (overlaps(x, y) ? 1 : 0))),
};

function geoJson(type: string, coordinates: Value[]): Row {
  const r = newRow();
  r.type = type;
  r.coordinates = coordinates;
  return r;
}

/** The call site names the function in a failure's message. */
function binary(a: Value | undefined, b: Value | undefined, f: (x: Shape, y: Shape) => Value | ConversionFailure): Value | ConversionFailure {
  if (a === null || b === null || a === undefined || b === undefined) return null;
  const x = shapeOf(a), y = shapeOf(b);
  if (x instanceof ConversionFailure) return x;
  if (y instanceof ConversionFailure) return y;
  return f(x, y);
}

function pointsOf(args: readonly Value[], name: string): Position[] | null | ConversionFailure {
  const out: Position[] = [];
  for (const a of args) {
    if (a === null) return null;
    const s = shapeOf(a);
    if (s instanceof ConversionFailure) return s;
    if (s.kind !== 'point') return new ConversionFailure(`${name} takes points (CreatePoint), found a ${s.kind === 'line' ? 'LineString' : 'Polygon'}`);
    out.push(s.at);
  }
  return out;
}

// --- reading shapes ----------------------------------------------------------------------------

// A reference row's fence is the same object (or text) for every event: it is read once.
const shapesOfRecords = new WeakMap<object, Shape | ConversionFailure>();
const shapesOfTexts = new Map<string, Shape | ConversionFailure>();

function shapeOf(v: Value): Shape | ConversionFailure {
  if (typeof v === 'string') {
    let s = shapesOfTexts.get(v);
    if (s === undefined) {
      s = shapeOfText(v);
      if (shapesOfTexts.size >= 10_000) shapesOfTexts.clear();
      shapesOfTexts.set(v, s);
    }
    return s;
  }
  if (isRecord(v)) {
    let s = shapesOfRecords.get(v);
    if (s === undefined) {
      s = shapeOfGeoJson(v);
      shapesOfRecords.set(v, s);
    }
    return s;
  }
  return new ConversionFailure(`expected a GeoJSON record or WKT text, found ${typeOf(v)}`);
}

function shapeOfText(text: string): Shape | ConversionFailure {
  const t = text.trim();
  if (t.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(t);
      return isRecord(parsed as Value) ? shapeOfGeoJson(parsed as Row) : new ConversionFailure('GeoJSON text must be an object');
    } catch {
      return new ConversionFailure('malformed GeoJSON text');
    }
  }
  const m = /^(POINT|LINESTRING|POLYGON)\s*\((.*)\)$/is.exec(t);
  if (!m) return new ConversionFailure(`'${t.length > 40 ? `${t.slice(0, 40)}…` : t}' is neither GeoJSON nor WKT POINT, LINESTRING or POLYGON`);
  const kind = m[1]!.toUpperCase();
  const body = m[2]!.trim();
  const positions = (list: string): Position[] | null => {
    const out: Position[] = [];
    for (const pair of list.split(',')) {
      const parts = pair.trim().split(/\s+/).map(Number);
      if (parts.length < 2 || parts.some((n) => !Number.isFinite(n))) return null;
      out.push([parts[0]!, parts[1]!]);
    }
    return out;
  };
  if (kind === 'POINT') {
    const p = positions(body);
    return p && p.length === 1 ? checkedPoint(p[0]!) : new ConversionFailure('WKT POINT takes one longitude latitude pair');
  }
  if (kind === 'LINESTRING') {
    const p = positions(body);
    return p ? line(p) : new ConversionFailure('malformed WKT LINESTRING');
  }
  const rings = [...body.matchAll(/\(([^()]*)\)/g)].map((r) => r[1]!);
  if (rings.length !== 1) return new ConversionFailure(rings.length === 0 ? 'malformed WKT POLYGON' : 'polygons cannot have holes');
  const p = positions(rings[0]!);
  return p ? polygon(p) : new ConversionFailure('malformed WKT POLYGON');
}

function shapeOfGeoJson(r: Row): Shape | ConversionFailure {
  const type = typeof r.type === 'string' ? r.type.toLowerCase() : null;
  const c = r.coordinates ?? null;
  if (type === 'point') {
    const p = position(c);
    return p ? checkedPoint(p) : new ConversionFailure('a Point\'s coordinates are [longitude, latitude]');
  }
  if (type === 'linestring') {
    const p = positions(c);
    return p ? line(p) : new ConversionFailure('a LineString\'s coordinates are a list of [longitude, latitude]');
  }
  if (type === 'polygon') {
    // [[ring]] as GeoJSON has it; a bare [ring] too, as some of the reference's examples write it.
    const rings = Array.isArray(c) && Array.isArray(c[0]) && Array.isArray((c[0] as Value[])[0]) ? (c as Value[]) : [c];
    if (rings.length !== 1) return new ConversionFailure('polygons cannot have holes');
    const p = positions(rings[0] ?? null);
    return p ? polygon(p) : new ConversionFailure('a Polygon\'s coordinates are a ring of [longitude, latitude]');
  }
  return new ConversionFailure(`expected a GeoJSON Point, LineString or Polygon, found type ${type === null ? 'none' : String(r.type)}`);
}

function position(v: Value): Position | null {
  if (!Array.isArray(v) || v.length < 2) return null;
  const x = v[0], y = v[1];
  return typeof x === 'number' && typeof y === 'number' && Number.isFinite(x) && Number.isFinite(y) ? [x, y] : null;
}

function positions(v: Value): Position[] | null {
  if (!Array.isArray(v)) return null;
  const out: Position[] = [];
  for (const p of v) {
    const q = position(p);
    if (!q) return null;
    out.push(q);
  }
  return out;
}

function checkedPoint(at: Position): Shape | ConversionFailure {
  if (!(at[1] >= -90 && at[1] <= 90) || !(at[0] >= -180 && at[0] <= 180)) return new ConversionFailure(`[${at[0]}, ${at[1]}] is not a longitude and latitude`);
  return { kind: 'point', at };
}

function line(points: Position[]): Shape | ConversionFailure {
  return points.length >= 2 ? { kind: 'line', points } : new ConversionFailure('a LineString needs at least 2 points');
}

/** A ring read leniently: closed if it was not; its orientation decides which side is inside. */
function polygon(points: Position[]): Shape | ConversionFailure {
  const ring = points.slice();
  const first = ring[0], last = ring[ring.length - 1];
  if (first && last && (first[0] !== last[0] || first[1] !== last[1])) ring.push(first);
  if (ring.length < 4) return new ConversionFailure('a polygon needs at least 3 points');
  let area2 = 0;
  for (let i = 0; i + 1 < ring.length; i++) area2 += ring[i]![0] * ring[i + 1]![1] - ring[i + 1]![0] * ring[i]![1];
  return { kind: 'polygon', ring, complement: area2 < 0 };
}

// --- distance ----------------------------------------------------------------------------------

const WGS84_A = 6378137;
const WGS84_F = 1 / 298.257223563;
const WGS84_B = WGS84_A * (1 - WGS84_F);
const MEAN_RADIUS = 6371008.8;
const RAD = Math.PI / 180;

/** Vincenty's inverse formula on WGS 84; near-antipodal points, where it does not converge, on the sphere. */
export function geodesicMetres(a: Position, b: Position): number {
  const L = (b[0] - a[0]) * RAD;
  const U1 = Math.atan((1 - WGS84_F) * Math.tan(a[1] * RAD)), U2 = Math.atan((1 - WGS84_F) * Math.tan(b[1] * RAD));
  const sinU1 = Math.sin(U1), cosU1 = Math.cos(U1), sinU2 = Math.sin(U2), cosU2 = Math.cos(U2);
  let lambda = L;
  for (let i = 0; i < 200; i++) {
    const sinL = Math.sin(lambda), cosL = Math.cos(lambda);
    const sinSigma = Math.hypot(cosU2 * sinL, cosU1 * sinU2 - sinU1 * cosU2 * cosL);
    if (sinSigma === 0) return 0;
    const cosSigma = sinU1 * sinU2 + cosU1 * cosU2 * cosL;
    const sigma = Math.atan2(sinSigma, cosSigma);
    const sinAlpha = (cosU1 * cosU2 * sinL) / sinSigma;
    const cosSqAlpha = 1 - sinAlpha * sinAlpha;
    const cos2SigmaM = cosSqAlpha === 0 ? 0 : cosSigma - (2 * sinU1 * sinU2) / cosSqAlpha;
    const C = (WGS84_F / 16) * cosSqAlpha * (4 + WGS84_F * (4 - 3 * cosSqAlpha));
    const previous = lambda;
    lambda = L + (1 - C) * WGS84_F * sinAlpha * (sigma + C * sinSigma * (cos2SigmaM + C * cosSigma * (-1 + 2 * cos2SigmaM * cos2SigmaM)));
    if (Math.abs(lambda - previous) <= 1e-12) {
      const uSq = (cosSqAlpha * (WGS84_A * WGS84_A - WGS84_B * WGS84_B)) / (WGS84_B * WGS84_B);
      const A = 1 + (uSq / 16384) * (4096 + uSq * (-768 + uSq * (320 - 175 * uSq)));
      const B = (uSq / 1024) * (256 + uSq * (-128 + uSq * (74 - 47 * uSq)));
      const dSigma = B * sinSigma * (cos2SigmaM + (B / 4) * (cosSigma * (-1 + 2 * cos2SigmaM * cos2SigmaM)
        - (B / 6) * cos2SigmaM * (-3 + 4 * sinSigma * sinSigma) * (-3 + 4 * cos2SigmaM * cos2SigmaM)));
      return WGS84_B * A * (sigma - dSigma);
    }
  }
  const h = Math.sin(((b[1] - a[1]) * RAD) / 2) ** 2 + Math.cos(a[1] * RAD) * Math.cos(b[1] * RAD) * Math.sin(L / 2) ** 2;
  return 2 * MEAN_RADIUS * Math.asin(Math.min(1, Math.sqrt(h)));
}

// --- relations ---------------------------------------------------------------------------------

type Side = 'inside' | 'boundary' | 'outside';

/** Where a position lies against a polygon, its orientation taken into account. */
function locate(p: Position, poly: Extract<Shape, { kind: 'polygon' }>): Side {
  const ring = poly.ring;
  let inside = false;
  for (let i = 0, j = ring.length - 2; i < ring.length - 1; j = i++) {
    const a = ring[i]!, b = ring[j]!;
    if (onSegment(p, a, b)) return 'boundary';
    if ((a[1] > p[1]) !== (b[1] > p[1]) && p[0] < ((b[0] - a[0]) * (p[1] - a[1])) / (b[1] - a[1]) + a[0]) inside = !inside;
  }
  return inside !== poly.complement ? 'inside' : 'outside';
}

function cross(o: Position, a: Position, b: Position): number {
  return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

function onSegment(p: Position, a: Position, b: Position): boolean {
  return cross(a, b, p) === 0 && Math.min(a[0], b[0]) <= p[0] && p[0] <= Math.max(a[0], b[0]) && Math.min(a[1], b[1]) <= p[1] && p[1] <= Math.max(a[1], b[1]);
}

/** Whether segments ab and cd meet; `proper`: they cross at one point inside both. */
function segmentsMeet(a: Position, b: Position, c: Position, d: Position, proper: boolean): boolean {
  const d1 = cross(c, d, a), d2 = cross(c, d, b), d3 = cross(a, b, c), d4 = cross(a, b, d);
  if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) return true;
  if (proper) return false;
  return onSegment(a, c, d) || onSegment(b, c, d) || onSegment(c, a, b) || onSegment(d, a, b);
}

function verticesOf(s: Shape): readonly Position[] {
  return s.kind === 'point' ? [s.at] : s.kind === 'line' ? s.points : s.ring;
}

function segmentsOf(s: Shape): [Position, Position][] {
  const v = verticesOf(s);
  const out: [Position, Position][] = [];
  for (let i = 0; i + 1 < v.length; i++) out.push([v[i]!, v[i + 1]!]);
  return out;
}

function anySegmentsMeet(x: Shape, y: Shape, proper: boolean): boolean {
  const ys = segmentsOf(y);
  for (const [a, b] of segmentsOf(x)) for (const [c, d] of ys) if (segmentsMeet(a, b, c, d, proper)) return true;
  return false;
}

function within(x: Shape, poly: Extract<Shape, { kind: 'polygon' }>): boolean {
  if (x.kind === 'point') return locate(x.at, poly) === 'inside';
  // Every vertex inside or on the boundary, no edge crossing out, and some part strictly inside.
  const sides = verticesOf(x).map((p) => locate(p, poly));
  if (sides.includes('outside') || anySegmentsMeet(x, poly, true)) return false;
  if (sides.includes('inside') || segmentsOf(x).some(([a, b]) => locate([(a[0] + b[0]) / 2, (a[1] + b[1]) / 2], poly) === 'inside')) return true;
  // All of x on the boundary (x equal to the polygon): within when x's own inside is the polygon's.
  if (x.kind !== 'polygon') return false;
  const c = centroid(x.ring);
  return c !== null && locate(c, x) === 'inside' && locate(c, poly) === 'inside';
}

function centroid(ring: readonly Position[]): Position | null {
  let a = 0, cx = 0, cy = 0;
  for (let i = 0; i + 1 < ring.length; i++) {
    const p = ring[i]!, q = ring[i + 1]!;
    const k = p[0] * q[1] - q[0] * p[1];
    a += k;
    cx += (p[0] + q[0]) * k;
    cy += (p[1] + q[1]) * k;
  }
  return a === 0 ? null : [cx / (3 * a), cy / (3 * a)];
}

function intersects(x: Shape, y: Shape): boolean {
  if (x.kind === 'point' && y.kind === 'point') return x.at[0] === y.at[0] && x.at[1] === y.at[1];
  if (x.kind === 'polygon' && verticesOf(y).some((p) => locate(p, x) !== 'outside')) return true;
  if (y.kind === 'polygon' && verticesOf(x).some((p) => locate(p, y) !== 'outside')) return true;
  if (x.kind === 'point') return segmentsOf(y).some(([a, b]) => onSegment(x.at, a, b));
  if (y.kind === 'point') return segmentsOf(x).some(([a, b]) => onSegment(y.at, a, b));
  return anySegmentsMeet(x, y, false);
}

/** Interiors meet, and neither lies within the other. */
function overlaps(x: Shape, y: Shape): boolean {
  if (x.kind !== 'polygon' || y.kind !== 'polygon') return false;
  if (within(x, y) || within(y, x)) return false;
  return anySegmentsMeet(x, y, true)
    || x.ring.some((p) => locate(p, y) === 'inside')
    || y.ring.some((p) => locate(p, x) === 'inside');
}
