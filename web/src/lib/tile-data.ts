// From an output's rows to what a tile draws: the tenant shown, the tile's fields found in the rows
// (or a sentence saying which are not), and one transform per tile type. Rows sharing a timestamp
// and a key — several tenants' rows for an unbound viewer — are combined: summed, or averaged for
// percentages and durations, which do not add up. Pure: rows in, plain data out.
import { formatDayHourMinute, formatHourMinute, formatHourMinuteSecond, localDay } from './time-format.js';
import type { NumberFormat, OutputRow, TileSpec } from './wire.js';

/** How values sharing a timestamp and a key become one. */
export type Combine = 'sum' | 'mean';

/** Lines a line tile draws at most (the largest); the rest are counted. */
export const MAX_LINES = 20;

/** Counts add up; ratios (percent) and durations (an average dwell time, say) are averaged. */
export function combineOf(format: NumberFormat): Combine {
  return format === 'percent' || format === 'duration' ? 'mean' : 'sum';
}

class Accumulator {
  private total = 0;
  private n = 0;
  add(v: number): void {
    this.total += v;
    this.n++;
  }
  value(how: Combine): number {
    return how === 'sum' || this.n === 0 ? this.total : this.total / this.n;
  }
}

/** A field's value as a number: numbers, and text that is one (reference data is text). */
export function toNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/** A key's value as a category name. */
export function categoryName(v: unknown): string {
  if (v === null || v === undefined) return '(none)';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** The rows of one tenant, or every row for null (All tenants). */
export function forTenant(rows: readonly OutputRow[], tenant: string | null): readonly OutputRow[] {
  return tenant === null ? rows : rows.filter((r) => r.tenant === tenant);
}

// ---- fields ----

/** The fields of the rows, in the order first seen, from the newest `sample` rows. */
export function fieldsOf(rows: readonly OutputRow[], sample = 200): string[] {
  const seen = new Set<string>();
  for (let i = rows.length - 1; i >= 0 && i >= rows.length - sample; i--) {
    for (const f of Object.keys(rows[i]!.row)) seen.add(f);
  }
  return [...seen];
}

/** The field of the rows a tile names: the same name, else the one differing only in case (as the query language compares names). */
export function resolveField(name: string, fields: readonly string[]): string | null {
  if (fields.includes(name)) return name;
  const lower = name.toLowerCase();
  return fields.find((f) => f.toLowerCase() === lower) ?? null;
}

/** The fields a tile reads, as found in its output's rows. */
export interface TileFields {
  readonly value: string | null;
  readonly key: string | null;
  readonly y: string | null;
  readonly steps: readonly string[];
  readonly columns: readonly string[];
}

/** The fields a tile of its type reads (the configured names). */
export function fieldsNeeded(tile: TileSpec): string[] {
  const one = (f: string | null): string[] => (f === null ? [] : [f]);
  switch (tile.type) {
    case 'card': return one(tile.value);
    case 'line': return [...one(tile.value), ...one(tile.key)];
    case 'bar':
    case 'pie': return [...one(tile.value), ...one(tile.key)];
    case 'table': return [...(tile.columns ?? []), ...one(tile.value)];
    case 'funnel': return [...(tile.steps ?? [])];
    case 'heatmap': return [...one(tile.value), ...one(tile.y)];
  }
}

/** `field `views` is not in the rows of TopViewed; their fields are: sku, n`. */
export function missingFieldsMessage(missing: readonly string[], output: string, fields: readonly string[]): string {
  const names = missing.map((f) => `\`${f}\``).join(', ');
  const subject = missing.length === 1 ? `field ${names} is` : `fields ${names} are`;
  return `${subject} not in the rows of ${output}; their fields are: ${fields.length ? fields.join(', ') : '(none)'}`;
}

/** The tile's fields found in the rows, or the sentence that says which are missing. */
export function resolveTileFields(tile: TileSpec, fields: readonly string[]): { fields: TileFields } | { problem: string } {
  const needed = fieldsNeeded(tile);
  const missing = needed.filter((f) => resolveField(f, fields) === null);
  if (missing.length > 0) return { problem: missingFieldsMessage(missing, tile.output, fields) };
  const get = (f: string | null): string | null => (f === null ? null : resolveField(f, fields));
  const all = (fs: readonly string[] | null): string[] => (fs ?? []).map((f) => resolveField(f, fields)!);
  const key = tile.type === 'bar' || tile.type === 'pie' || tile.type === 'line' ? get(tile.key) : null;
  return { fields: { value: get(tile.value), key, y: get(tile.y), steps: all(tile.steps), columns: all(tile.columns) } };
}

/** `field `n` of TopViewed holds no numbers (it holds "many")`, when no row has a number there. */
export function noNumbersProblem(rows: readonly OutputRow[], field: string, output: string): string | null {
  let example: unknown = undefined;
  for (const r of rows) {
    const v = r.row[field];
    if (toNumber(v) !== null) return null;
    if (example === undefined && v !== null && v !== undefined) example = v;
  }
  if (rows.length === 0) return null;
  const holds = example === undefined ? 'it is empty in every row' : `it holds ${JSON.stringify(example)}`;
  return `field \`${field}\` of ${output} holds no numbers (${holds})`;
}

// ---- timestamps ----

/** The newest timestamps of the rows, newest first, at most `n`. */
export function newestTimestamps(rows: readonly OutputRow[], n: number): number[] {
  return [...new Set(rows.map((r) => r.timestampMs))].sort((a, b) => b - a).slice(0, n);
}

function rowsAt(rows: readonly OutputRow[], timestampMs: number): OutputRow[] {
  return rows.filter((r) => r.timestampMs === timestampMs);
}

function combined(rows: readonly OutputRow[], field: string, how: Combine): number | null {
  const acc = new Accumulator();
  let any = false;
  for (const r of rows) {
    const v = toNumber(r.row[field]);
    if (v === null) continue;
    acc.add(v);
    any = true;
  }
  return any ? acc.value(how) : null;
}

// ---- card ----

export interface CardData {
  /** The value of the newest timestamp, or null before any row. */
  readonly value: number | null;
  /** The value of the timestamp before it, or null. */
  readonly previous: number | null;
  readonly timestampMs: number | null;
  readonly previousMs: number | null;
}

/** The newest timestamp's value (its rows combined) and the one before, among rows holding a number. */
export function cardData(rows: readonly OutputRow[], value: string, how: Combine): CardData {
  const numeric = rows.filter((r) => toNumber(r.row[value]) !== null);
  const [newest, before] = newestTimestamps(numeric, 2);
  return {
    value: newest === undefined ? null : combined(rowsAt(numeric, newest), value, how),
    previous: before === undefined ? null : combined(rowsAt(numeric, before), value, how),
    timestampMs: newest ?? null,
    previousMs: before ?? null,
  };
}

// ---- line ----

export interface Series {
  readonly name: string;
  /** [timestamp ms, value], oldest first. */
  readonly points: readonly (readonly [number, number])[];
}

/** One line per key value (one line named after the value field when `key` is null), over rows stamped since `sinceMs`. */
export function lineSeries(rows: readonly OutputRow[], value: string, key: string | null, how: Combine, sinceMs: number, maxLines = MAX_LINES): { series: Series[]; omitted: number } {
  const byKey = new Map<string, Map<number, Accumulator>>();
  for (const r of rows) {
    if (r.timestampMs < sinceMs) continue;
    const v = toNumber(r.row[value]);
    if (v === null) continue;
    const name = key === null ? value : categoryName(r.row[key]);
    let points = byKey.get(name);
    if (!points) byKey.set(name, points = new Map());
    let acc = points.get(r.timestampMs);
    if (!acc) points.set(r.timestampMs, acc = new Accumulator());
    acc.add(v);
  }
  const all = [...byKey].map(([name, points]) => {
    const pts = [...points].sort((a, b) => a[0] - b[0]).map(([t, acc]) => [t, acc.value(how)] as const);
    return { name, points: pts, weight: pts.reduce((s, p) => s + Math.abs(p[1]), 0) };
  });
  // The largest lines, by their total over the range; ties by name so the choice does not flicker.
  all.sort((a, b) => b.weight - a.weight || a.name.localeCompare(b.name));
  const kept = all.slice(0, maxLines).sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  return { series: kept.map(({ name, points }) => ({ name, points })), omitted: all.length - kept.length };
}

// ---- bar and pie ----

export interface Slice {
  readonly name: string;
  readonly value: number;
}

export interface TopCategories {
  /** The largest `top` categories, largest first. */
  readonly items: readonly Slice[];
  /** The categories past `top`: how many, and their sum. */
  readonly rest: { readonly count: number; readonly value: number } | null;
  readonly timestampMs: number | null;
}

/** The newest timestamp's rows by category (`key`), combined per category, largest first. */
export function topCategories(rows: readonly OutputRow[], value: string, key: string, how: Combine, top: number): TopCategories {
  const numeric = rows.filter((r) => toNumber(r.row[value]) !== null);
  const [newest] = newestTimestamps(numeric, 1);
  if (newest === undefined) return { items: [], rest: null, timestampMs: null };
  const byKey = new Map<string, Accumulator>();
  for (const r of rowsAt(numeric, newest)) {
    const name = categoryName(r.row[key]);
    let acc = byKey.get(name);
    if (!acc) byKey.set(name, acc = new Accumulator());
    acc.add(toNumber(r.row[value])!);
  }
  const all = [...byKey].map(([name, acc]) => ({ name, value: acc.value(how) }))
    .sort((a, b) => b.value - a.value || a.name.localeCompare(b.name));
  const rest = all.slice(top);
  return {
    items: all.slice(0, top),
    rest: rest.length ? { count: rest.length, value: rest.reduce((s, x) => s + x.value, 0) } : null,
    timestampMs: newest,
  };
}

// ---- table ----

export interface TableData {
  /** The configured column names, in order. */
  readonly columns: readonly string[];
  /** Whether each column holds numbers (written in the tile's format, aligned right). */
  readonly numeric: readonly boolean[];
  readonly rows: readonly { readonly tenant: string; readonly cells: readonly unknown[] }[];
  /** Rows of several tenants are shown with their tenant rather than added up (a table has no key to add by). */
  readonly showTenant: boolean;
  /** Rows of the newest timestamp, before `top`. */
  readonly total: number;
  readonly timestampMs: number | null;
}

/**
 * The newest timestamp's rows, the given columns in order, at most `top`, largest first by `sortBy`
 * (the tile's `value`) when given, else by the first numeric column.
 */
export function tableData(rows: readonly OutputRow[], fields: readonly string[], columns: readonly string[], top: number, sortBy: string | null = null): TableData {
  const [newest] = newestTimestamps(rows, 1);
  const at = newest === undefined ? [] : rowsAt(rows, newest);
  const numeric = fields.map((f) => {
    let any = false;
    for (const r of at) {
      const v = r.row[f];
      if (v === null || v === undefined) continue;
      // Only JSON numbers: text such as a SKU `1001` from a CSV catalogue is a name, not an amount.
      if (typeof v !== 'number') return false;
      any = true;
    }
    return any;
  });
  const by = sortBy ?? fields[numeric.indexOf(true)];
  const sorted = by === undefined ? at : [...at].sort((a, b) => (toNumber(b.row[by]) ?? -Infinity) - (toNumber(a.row[by]) ?? -Infinity));
  return {
    columns,
    numeric,
    rows: sorted.slice(0, top).map((r) => ({ tenant: r.tenant, cells: fields.map((f) => r.row[f]) })),
    showTenant: new Set(at.map((r) => r.tenant)).size > 1,
    total: at.length,
    timestampMs: newest ?? null,
  };
}

// ---- funnel ----

export interface FunnelData {
  readonly steps: readonly Slice[];
  /** Last step over first, or null when the first is 0 or absent. */
  readonly conversion: number | null;
  readonly timestampMs: number | null;
}

/** The newest row's steps (the newest timestamp's rows combined), named by `labels` or the field names. */
export function funnelData(rows: readonly OutputRow[], steps: readonly string[], labels: readonly string[] | null, how: Combine): FunnelData {
  const holding = rows.filter((r) => steps.some((s) => toNumber(r.row[s]) !== null));
  const [newest] = newestTimestamps(holding, 1);
  if (newest === undefined) return { steps: [], conversion: null, timestampMs: null };
  const at = rowsAt(holding, newest);
  const values = steps.map((s, i) => ({ name: labels?.[i] ?? s, value: combined(at, s, how) ?? 0 }));
  const first = values[0]?.value ?? 0, last = values[values.length - 1]?.value ?? 0;
  return { steps: values, conversion: first > 0 ? last / first : null, timestampMs: newest };
}

// ---- heatmap ----

export interface HeatmapGrid {
  /** Column labels: each distinct timestamp, oldest first, as HH:MM (HH:MM:SS when two fall in one minute; with the day when they span days). */
  readonly x: readonly string[];
  readonly xMs: readonly number[];
  /** Row labels: the distinct values of the `y` field, sorted. */
  readonly y: readonly string[];
  /** [column, row, value] per cell holding a value. */
  readonly cells: readonly (readonly [number, number, number])[];
  readonly min: number;
  readonly max: number;
}

/** Rows stamped since `sinceMs` as a grid: a column per timestamp, a row per `y` value, `value` combined per cell. */
export function heatmapGrid(rows: readonly OutputRow[], value: string, y: string, how: Combine, sinceMs: number): HeatmapGrid {
  const cells = new Map<number, Map<string, Accumulator>>();
  for (const r of rows) {
    if (r.timestampMs < sinceMs) continue;
    const v = toNumber(r.row[value]);
    if (v === null) continue;
    const name = categoryName(r.row[y]);
    let column = cells.get(r.timestampMs);
    if (!column) cells.set(r.timestampMs, column = new Map());
    let acc = column.get(name);
    if (!acc) column.set(name, acc = new Accumulator());
    acc.add(v);
  }
  const xMs = [...cells.keys()].sort((a, b) => a - b);
  const ys = [...new Set([...cells.values()].flatMap((c) => [...c.keys()]))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const yIndex = new Map(ys.map((name, i) => [name, i]));
  const spansDays = new Set(xMs.map(localDay)).size > 1;
  // Windows ending within the same minute (a 1-minute window hopping every 10 s) need their seconds.
  const sameMinute = new Set(xMs.map((t) => Math.floor(t / 60_000))).size < xMs.length;
  const label = spansDays ? (t: number) => formatDayHourMinute(t) : sameMinute ? formatHourMinuteSecond : formatHourMinute;
  const out: [number, number, number][] = [];
  let min = Infinity, max = -Infinity;
  xMs.forEach((t, xi) => {
    for (const [name, acc] of cells.get(t)!) {
      const v = acc.value(how);
      out.push([xi, yIndex.get(name)!, v]);
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
  });
  return {
    x: xMs.map(label),
    xMs, y: ys, cells: out,
    min: out.length ? min : 0, max: out.length ? max : 0,
  };
}
