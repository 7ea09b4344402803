// What the server's APIs answer, as the pages read it: dashboards, output rows, writer statuses,
// the events of a page's stream (rows, status, reset) and live events. Everything that crosses the
// wire is checked here once, so the rest of the app works on shapes it can trust; a malformed
// answer becomes a WireError that names what was wrong (the page shows it), never an exception
// deep in a chart. Pure: no DOM, testable under Node.

/** The tile types this page draws (the server's list: src/config/dashboard-settings.ts, pinned by a test). */
export const TILE_TYPES = ['card', 'line', 'bar', 'table', 'funnel', 'pie', 'heatmap'] as const;
export type TileType = (typeof TILE_TYPES)[number];

/** How a tile writes its numbers (the server's list, pinned by a test). */
export const NUMBER_FORMATS = ['count', 'number', 'currency', 'percent', 'duration'] as const;
export type NumberFormat = (typeof NUMBER_FORMATS)[number];

/** An answer that does not have the shape the page expects. */
export class WireError extends Error {
  override readonly name = 'WireError';
}

export interface Viewer {
  /** The tenant a viewer key is bound to, or null when it sees every tenant. */
  readonly tenant: string | null;
}

export interface DashboardSummary {
  readonly name: string;
  readonly title: string;
  readonly description: string | null;
  readonly tiles: number;
}

export interface DashboardList {
  readonly dashboards: readonly DashboardSummary[];
  readonly viewer: Viewer;
}

export interface TileSpec {
  readonly type: TileType;
  readonly title: string;
  readonly output: string;
  readonly value: string | null;
  readonly key: string | null;
  readonly y: string | null;
  readonly steps: readonly string[] | null;
  readonly columns: readonly string[] | null;
  readonly labels: readonly string[] | null;
  readonly format: NumberFormat;
  readonly currency: string;
  readonly top: number;
  /** Columns of the 4-column grid the tile spans, 1–4. */
  readonly width: number;
  /** What keeps the tile from showing rows (from the server, or a tile this page cannot draw), or null. */
  readonly problem: string | null;
}

export interface DashboardSpec {
  readonly name: string;
  readonly title: string;
  readonly description: string | null;
  readonly tiles: readonly TileSpec[];
  readonly viewer: Viewer;
  /** "Shoppers who tried this also bought" under the tiles. */
  readonly recommendations: boolean;
}

export interface WriterStatus {
  readonly job: string;
  readonly state: string;
  readonly clock: string | null;
  readonly watermark: string | null;
}

/** A row of an output: `timestampMs` is its System.Timestamp() (a window's end). */
export interface OutputRow {
  readonly id: number;
  readonly job: string;
  readonly tenant: string;
  readonly timestampMs: number;
  readonly row: Readonly<Record<string, unknown>>;
}

export interface OutputRowsAnswer {
  readonly output: string;
  readonly writers: readonly WriterStatus[];
  readonly rows: readonly OutputRow[];
  /** Rows left out because they were malformed (counted, so the page can say so). */
  readonly rejected: number;
}

/** An event of the hub's log as the live-events page shows it. */
export interface LiveEvent {
  readonly partition: number;
  readonly sequenceNumber: number;
  readonly enqueuedTimeUtc: string;
  readonly enqueuedMs: number;
  readonly deviceId: string;
  readonly tenant: string;
  /** The `iothub-app-channel` property, or null. */
  readonly channel: string | null;
  /** The body's `event` field, or null. */
  readonly event: string | null;
  readonly properties: Readonly<Record<string, unknown>>;
  /** The parsed JSON body, or its text. */
  readonly body: unknown;
}

/** An error the server answered with: `{"error":{"code","message"}}`. */
export interface ServerError {
  readonly code: string;
  readonly message: string;
}

type Obj = Readonly<Record<string, unknown>>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, what: string): Obj {
  if (!isObj(v)) throw new WireError(`${what} is not an object`);
  return v;
}

function str(o: Obj, field: string, what: string): string {
  const v = o[field];
  if (typeof v !== 'string') throw new WireError(`${what}.${field} is not text`);
  return v;
}

function strOrNull(o: Obj, field: string, what: string): string | null {
  const v = o[field];
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string') throw new WireError(`${what}.${field} is not text`);
  return v;
}

function strList(o: Obj, field: string, what: string): string[] | null {
  const v = o[field];
  if (v === null || v === undefined) return null;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new WireError(`${what}.${field} is not a list of names`);
  return v as string[];
}

function intIn(o: Obj, field: string, min: number, max: number, fallback: number): number {
  const v = o[field];
  return typeof v === 'number' && Number.isFinite(v) ? Math.min(max, Math.max(min, Math.round(v))) : fallback;
}

function list(o: Obj, field: string, what: string): readonly unknown[] {
  const v = o[field];
  if (!Array.isArray(v)) throw new WireError(`${what}.${field} is not a list`);
  return v;
}

function viewerOf(o: Obj): Viewer {
  const v = isObj(o.viewer) ? o.viewer : {};
  return { tenant: typeof v.tenant === 'string' ? v.tenant : null };
}

/** The error in an error answer's body, if it is one. */
export function parseServerError(json: unknown): ServerError | null {
  if (!isObj(json) || !isObj(json.error)) return null;
  const code = json.error.code, message = json.error.message;
  return typeof code === 'string' ? { code, message: typeof message === 'string' ? message : code } : null;
}

export function parseDashboardList(json: unknown): DashboardList {
  const o = obj(json, 'the dashboards answer');
  const dashboards = list(o, 'dashboards', 'the dashboards answer').map((d, i): DashboardSummary => {
    const what = `dashboards[${i}]`;
    const x = obj(d, what);
    return { name: str(x, 'name', what), title: strOrNull(x, 'title', what) ?? str(x, 'name', what), description: strOrNull(x, 'description', what), tiles: intIn(x, 'tiles', 0, 1e6, 0) };
  });
  return { dashboards, viewer: viewerOf(o) };
}

function isTileType(t: string): t is TileType {
  return (TILE_TYPES as readonly string[]).includes(t);
}

function isNumberFormat(f: string): f is NumberFormat {
  return (NUMBER_FORMATS as readonly string[]).includes(f);
}

export function parseTile(json: unknown, index: number): TileSpec {
  const what = `tiles[${index}]`;
  const t = obj(json, what);
  const type = str(t, 'type', what);
  const format = strOrNull(t, 'format', what) ?? 'count';
  let problem = strOrNull(t, 'problem', what);
  // A server newer than this page may know more: the tile keeps its place and says so.
  if (!isTileType(type)) problem ??= `This page does not draw tiles of type '${type}' (it draws ${TILE_TYPES.join(', ')}); rebuild the web app with the server (npm run build)`;
  if (!isNumberFormat(format)) problem ??= `This page does not know the number format '${format}' (it knows ${NUMBER_FORMATS.join(', ')})`;
  return {
    type: isTileType(type) ? type : 'card',
    title: strOrNull(t, 'title', what) ?? '',
    output: str(t, 'output', what),
    value: strOrNull(t, 'value', what),
    key: strOrNull(t, 'key', what),
    y: strOrNull(t, 'y', what),
    steps: strList(t, 'steps', what),
    columns: strList(t, 'columns', what),
    labels: strList(t, 'labels', what),
    format: isNumberFormat(format) ? format : 'number',
    currency: strOrNull(t, 'currency', what) ?? 'EUR',
    top: intIn(t, 'top', 1, 1_000, 10),
    width: intIn(t, 'width', 1, 4, 1),
    problem,
  };
}

export function parseDashboard(json: unknown): DashboardSpec {
  const o = obj(json, 'the dashboard answer');
  const what = 'the dashboard';
  return {
    name: str(o, 'name', what),
    title: strOrNull(o, 'title', what) ?? str(o, 'name', what),
    description: strOrNull(o, 'description', what),
    tiles: list(o, 'tiles', what).map(parseTile),
    viewer: viewerOf(o),
    recommendations: o.recommendations === true,
  };
}

export function parseWriters(json: unknown): WriterStatus[] {
  if (!Array.isArray(json)) return [];
  return json.filter(isObj).map((w) => ({
    job: typeof w.job === 'string' ? w.job : '?',
    state: typeof w.state === 'string' ? w.state : 'unknown',
    clock: typeof w.clock === 'string' ? w.clock : null,
    watermark: typeof w.watermark === 'string' ? w.watermark : null,
  }));
}

/** One row as the APIs send it, or null when it is malformed. */
export function parseRow(json: unknown): OutputRow | null {
  if (!isObj(json)) return null;
  const { id, job, tenant, timestamp, row } = json;
  if (typeof id !== 'number' || !Number.isFinite(id) || typeof timestamp !== 'string' || !isObj(row)) return null;
  const timestampMs = Date.parse(timestamp);
  if (!Number.isFinite(timestampMs)) return null;
  return { id, job: typeof job === 'string' ? job : '', tenant: typeof tenant === 'string' ? tenant : '', timestampMs, row };
}

/** Rows of an answer or of an SSE `rows` event, the malformed ones counted and left out. */
export function parseRows(json: unknown): { rows: OutputRow[]; rejected: number } {
  const raw = isObj(json) && Array.isArray(json.rows) ? json.rows : null;
  if (raw === null) throw new WireError('the answer has no list of rows');
  const rows: OutputRow[] = [];
  for (const r of raw) {
    const parsed = parseRow(r);
    if (parsed) rows.push(parsed);
  }
  return { rows, rejected: raw.length - rows.length };
}

export function parseOutputRows(json: unknown): OutputRowsAnswer {
  const o = obj(json, 'the output answer');
  const { rows, rejected } = parseRows(o);
  return { output: typeof o.output === 'string' ? o.output : '', writers: parseWriters(o.writers), rows, rejected };
}

// ---- a page's stream (GET /api/stream?outputs=…, or one output's /api/outputs/{name}/stream) ----

/** A `rows` event: `output` is null when the event does not name it (a server from before one stream carried several). */
export interface StreamRows {
  readonly output: string | null;
  readonly rows: readonly OutputRow[];
  readonly rejected: number;
}

export function parseStreamRows(json: unknown): StreamRows {
  const o = obj(json, 'a rows event');
  const { rows, rejected } = parseRows(o);
  return { output: typeof o.output === 'string' ? o.output : null, rows, rejected };
}

/**
 * A `status` event: the writing jobs by output (`{"writers":{"A":[…]}}`), or one list when the
 * stream carries one output (`{"writers":[…]}`: one output's stream, and the page's stream of one).
 */
export type StreamStatus =
  | { readonly kind: 'by-output'; readonly writers: ReadonlyMap<string, readonly WriterStatus[]> }
  | { readonly kind: 'one-output'; readonly writers: readonly WriterStatus[] };

export function parseStreamStatus(json: unknown): StreamStatus {
  const o = obj(json, 'a status event');
  if (Array.isArray(o.writers)) return { kind: 'one-output', writers: parseWriters(o.writers) };
  const byOutput = obj(o.writers, 'a status event\'s writers');
  return { kind: 'by-output', writers: new Map(Object.entries(byOutput).map(([output, w]) => [output, parseWriters(w)])) };
}

/** A `reset` event: `job` recomputes its rows of `outputs` stamped at or after `fromMs` (all of them when null). */
export interface StreamReset {
  readonly job: string;
  readonly outputs: readonly string[];
  readonly fromMs: number | null;
}

export function parseStreamReset(json: unknown): StreamReset {
  const what = 'a reset event';
  const o = obj(json, what);
  const job = str(o, 'job', what);
  const outputs = strList(o, 'outputs', what) ?? [];
  const from = strOrNull(o, 'from', what);
  const fromMs = from === null ? null : Date.parse(from);
  if (fromMs !== null && !Number.isFinite(fromMs)) throw new WireError(`${what}.from is not a time: ${JSON.stringify(from)}`);
  return { job, outputs, fromMs };
}

/** One live event, or null when it is malformed. */
export function parseLiveEvent(json: unknown): LiveEvent | null {
  if (!isObj(json)) return null;
  const { partition, sequenceNumber, enqueuedTimeUtc, deviceId, tenant, channel, event, properties, body } = json;
  if (typeof partition !== 'number' || typeof sequenceNumber !== 'number' || typeof enqueuedTimeUtc !== 'string') return null;
  const enqueuedMs = Date.parse(enqueuedTimeUtc);
  if (!Number.isFinite(enqueuedMs)) return null;
  return {
    partition, sequenceNumber, enqueuedTimeUtc, enqueuedMs,
    deviceId: typeof deviceId === 'string' ? deviceId : '',
    tenant: typeof tenant === 'string' ? tenant : '',
    channel: typeof channel === 'string' ? channel : null,
    event: typeof event === 'string' ? event : null,
    properties: isObj(properties) ? properties : {},
    body,
  };
}

export function parseLiveEvents(json: unknown): { events: LiveEvent[]; rejected: number } {
  const raw = isObj(json) && Array.isArray(json.events) ? json.events : null;
  if (raw === null) throw new WireError('the answer has no list of events');
  const events: LiveEvent[] = [];
  for (const e of raw) {
    const parsed = parseLiveEvent(e);
    if (parsed) events.push(parsed);
  }
  return { events, rejected: raw.length - events.length };
}
