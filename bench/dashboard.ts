// The dashboard page: its time to first chart and its memory after an hour of simulated traffic at
// the default rate, in a shortened form:
//  1. An hour of the demo's shoppers at the default rate (40 events/s: about 144,000 events, planned
//     by the simulator's own journey planner, src/demo/shopper-journeys.ts, for both brands) is
//     written straight into a fresh data directory's log, each second's events enqueued at that
//     second of the past hour (this process sets the log's clock back while writing), instead of
//     being sent over an hour. The events are the simulator's, with its devices' ids and channels.
//  2. The demo (`node dist/cli.js start --demo`, the build) starts on that directory, its simulator
//     at the default rate; the jobs read the hour from the log (timed) until every output's writing
//     jobs have caught up with the present. The outputs then hold an hour of rows, as after an hour
//     of running.
//  3. nordvik's dashboard with the 1-day range (so its line and heatmap tiles load the whole hour)
//     is loaded in headless Chromium, RUNS times, each in a new browser context (nothing cached):
//     from the start of the navigation to the first chart painted and to every tile ready, and the
//     page's JS heap once loaded (after a garbage collection).
//  4. One page then stays open LIVE minutes (3 by default) of live updates, its JS heap and the
//     server's RSS sampled every 30 s. Shortened, since what a page holds is bounded by its range
//     and a cap per output (web/src/lib/output-rows.ts): a page open for the hour holds the rows
//     this one loaded; the live minutes show whether memory grows with updates.
// Baselines from the same run: the load event of the same loads (the HTML, stylesheet and bundle
// alone), and the same dashboard against an empty data directory (no rows: every tile settled on
// "waiting for the first rows"), loaded alternately with the measured runs.
//   npm run build && npx tsx bench/dashboard.ts [--minutes 60] [--rate 40] [--runs 5] [--live 3] [--range 1d|1h|15m]
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { FileKeyStore } from '../src/auth/file-key-store.js';
import type { NewMessage } from '../src/core/message.js';
import { readDemoBrands } from '../src/demo/demo-data.js';
import { estimateEventsPerJourney } from '../src/demo/shopper-simulator.js';
import { JourneyPlanner, seededRandom, type Brand, type PlannedEvent } from '../src/demo/shopper-journeys.js';
import { SqliteEventLog } from '../src/log/sqlite-event-log.js';
import { CHROMIUM, launchChromium, pageMemory, tileTimings, waitForTiles, watchTiles, type PageMemory } from '../test/browser/dashboard-probe.js';
import { builtCli } from './built-server.js';
import { machine, median, spawnReady, table, type Child } from './harness.js';

const { values } = parseArgs({ options: {
  minutes: { type: 'string', default: '60' }, rate: { type: 'string', default: '40' },
  runs: { type: 'string', default: '5' }, live: { type: 'string', default: '3' }, range: { type: 'string', default: '1d' },
} });
const MINUTES = Number(values.minutes);
const RATE = Number(values.rate);
const RUNS = Number(values.runs);
const LIVE_MINUTES = Number(values.live);
/** The dashboard's time range (the page's `?range=`: 15m, 1h or 1d). */
const RANGE = values.range;
if (!['15m', '1h', '1d'].includes(RANGE)) throw new Error('--range is 15m, 1h or 1d');
const CLI = builtCli('bench/dashboard.ts');
if (!existsSync(CHROMIUM)) {
  // As the browser tests: skipped where there is no Chromium, unless the environment must have it.
  console.error(`bench/dashboard.ts needs Chromium at ${CHROMIUM} (apt-get install -y chromium): skipped`);
  process.exit(process.env.OMNISTREAM_REQUIRE_SERVICES === '1' ? 1 : 0);
}

const PARTITIONS = 4;
const TENANT = 'nordvik';
const SAMPLE_MS = 30_000;
/** Shoppers already mid-journey when the hour starts, as the simulator starts its shops open. */
const WARM_MS = 6 * 60_000;
/** The simulator's devices per brand and online channel (src/demo/shopper-simulator.ts). */
const APPS = { web: 2, ios: 1, android: 1 } as const;

/** The traffic's span, as the tables say it. */
const span = MINUTES === 60 ? 'an hour' : `${MINUTES} minutes`;
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(', ');

// --- an hour of the demo's traffic ---------------------------------------------------------------

function deviceOf(e: PlannedEvent): string {
  const s = e.sender;
  if (s.channel === 'sensor') return `${s.store.toLowerCase()}-rfid`;
  let h = 0;
  for (let i = 0; i < s.shopper.length; i++) h = (h * 31 + s.shopper.charCodeAt(i)) >>> 0;
  return `${e.tenant}-${s.channel}-${1 + (h % APPS[s.channel])}`;
}

function messageOf(e: PlannedEvent): NewMessage {
  return {
    deviceId: deviceOf(e), tenant: e.tenant, generationId: '1', authMethod: { scope: 'device', type: 'sas', issuer: 'iothub' },
    body: Buffer.from(JSON.stringify(e.body)), properties: { channel: e.sender.channel },
    messageId: randomUUID(), contentType: 'application/json', contentEncoding: 'utf-8',
  };
}

/** The simulator's journeys for both brands between `fromMs` and `toMs` at RATE events/s, in time order. */
function plannedEvents(brands: readonly Brand[], fromMs: number, toMs: number): PlannedEvent[] {
  const random = seededRandom(20_261_206);
  const planners = new Map(brands.map((b) => [b.tenant, new JourneyPlanner(b, random)]));
  // As the simulator: brands with more fitting rooms (bigger stores) draw a larger share.
  const weights = brands.map((b) => 10 + b.stores.reduce((s, st) => s + st.fittingRooms, 0));
  const total = weights.reduce((a, b) => a + b, 0);
  const journeysPerMs = RATE / estimateEventsPerJourney(brands) / 1_000;
  const events: PlannedEvent[] = [];
  for (let t = fromMs - WARM_MS; t < toMs; t += -Math.log(1 - random()) / journeysPerMs) {
    let u = random() * total, i = 0;
    while (u >= weights[i]! && i < brands.length - 1) u -= weights[i++]!;
    for (const e of planners.get(brands[i]!.tenant)!.plan(t)) if (e.atMs >= fromMs && e.atMs < toMs) events.push(e);
  }
  return events.sort((a, b) => a.atMs - b.atMs);
}

/** Appends the events, each second's together, enqueued at the end of their second: the log's clock (Date.now in this process) is set back meanwhile. */
async function prefill(dir: string, events: readonly PlannedEvent[]): Promise<number> {
  const log = new SqliteEventLog({ path: join(dir, 'log.db'), partitions: PARTITIONS, retentionMs: 30 * 86_400_000, dedupWindowMs: 86_400_000, maxPendingMessages: 1e6, durability: 'process' });
  const realNow = Date.now;
  const devices = new Set<string>();
  let clock = 0;
  Date.now = () => clock;
  try {
    for (let i = 0; i < events.length;) {
      const second = Math.floor(events[i]!.atMs / 1_000);
      const batch: NewMessage[] = [];
      for (; i < events.length && Math.floor(events[i]!.atMs / 1_000) === second && batch.length < 500; i++) batch.push(messageOf(events[i]!));
      for (const m of batch) devices.add(m.deviceId);
      clock = (second + 1) * 1_000;
      await log.append(batch);
    }
  } finally {
    Date.now = realNow;
  }
  await log.close();
  return devices.size;
}

// --- the server and the page ---------------------------------------------------------------------

interface Server {
  readonly child: Child;
  /** nordvik's dashboard, in RANGE. */
  readonly dashboard: string;
  readonly key: string;
}

async function startDemo(dir: string, rate: number): Promise<Server> {
  const child = await spawnReady([CLI, 'start', '--demo', '--data', dir, '--http-port', '0', '--rate', String(rate)], { OMNISTREAM_HTTP_HOST: '127.0.0.1', OMNISTREAM_OWNER_KEY: '' });
  const key = FileKeyStore.open(dir).viewerKeys().find((k) => k.tenant === TENANT)?.key;
  if (key === undefined) throw new Error(`the demo gave ${TENANT} no viewer key`);
  return { child, key, dashboard: `${child.url}/dashboards/retail?key=${encodeURIComponent(key)}&range=${RANGE}` };
}

/** The server's resident memory, from /proc (bytes), or NaN where there is none. */
function rssOf(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function api<T>(server: Server, path: string): Promise<T> {
  const res = await fetch(`${server.child.url}${path}${path.includes('?') ? '&' : '?'}key=${encodeURIComponent(server.key)}`);
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

interface Load {
  readonly firstChartMs: number | null;
  readonly allReadyMs: number | null;
  readonly allSettledMs: number | null;
  /** The load event: the HTML, the stylesheet and the bundle fetched and run. */
  readonly loadEventMs: number;
  /** Bytes of the API answers (the dashboard, the rows), as received. */
  readonly apiBytes: number;
  readonly memory: PageMemory;
  readonly errors: readonly string[];
}

/** Opens `url` in a new context (nothing cached) and waits until every tile is in one of `states`; with `keep`, the page stays open. */
async function loadPage(browser: Browser, url: string, states: readonly string[], keep = false): Promise<Load & { page?: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
  await watchTiles(context);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await waitForTiles(page, states, 120_000);
  const timings = await tileTimings(page, 10_000, states.includes('ready') ? ['firstChartMs', 'allReadyMs'] : ['allSettledMs']);
  const nav = (await page.evaluate(`(() => ({
    loadEventMs: performance.getEntriesByType('navigation')[0].loadEventEnd,
    apiBytes: performance.getEntriesByType('resource').filter((r) => r.name.includes('/api/') && !r.name.includes('/api/stream')).reduce((s, r) => s + r.transferSize, 0),
  }))()`)) as { loadEventMs: number; apiBytes: number };
  const memory = await pageMemory(page);
  if (!keep) await context.close();
  return { ...timings, ...nav, memory, errors, ...(keep ? { page } : {}) };
}

// --- main ----------------------------------------------------------------------------------------

const base = mkdtempSync(join(tmpdir(), 'omnistream-bench-dashboard-'));
let ok = true;
let browser: Browser | undefined;
const servers: Server[] = [];
try {
  console.log(`# Dashboard benchmark\n\nmachine: ${machine()}`);
  console.log(`command: npx tsx bench/dashboard.ts --minutes ${MINUTES} --rate ${RATE} --runs ${RUNS} --live ${LIVE_MINUTES} --range ${RANGE}`);
  console.log(`shortened form: ${MINUTES} minutes of the demo's shoppers at ${RATE} events/s written into the log at their own times (not sent over ${MINUTES} minutes), the demo's jobs`);
  console.log(`then catching up on them; ${TENANT}'s dashboard with the ${RANGE} range loaded ${RUNS} times in headless Chromium (1280×900, a new context each time: nothing cached),`);
  console.log(`alternating with the same page on an empty data directory (baseline); then one page kept open ${LIVE_MINUTES} minutes of live updates (not ${MINUTES}: a page holds`);
  console.log(`at most its range and a cap per output, so what it holds after ${span} is what it loaded). Server: the build, \`node dist/cli.js start --demo\`, a child process;`);
  console.log(`everything shares the machine; medians of the runs; load average at start: ${load()}\n`);

  const brands = await readDemoBrands();
  const hourDir = join(base, 'hour');
  const emptyDir = join(base, 'empty');
  mkdirSync(hourDir);
  mkdirSync(emptyDir);
  const endMs = Math.floor(Date.now() / 1_000) * 1_000;
  let t = performance.now();
  const events = plannedEvents(brands, endMs - MINUTES * 60_000, endMs);
  const devices = await prefill(hourDir, events);
  console.log(`prefill: ${events.length.toLocaleString('en-US')} events of ${devices} devices (${brands.map((b) => b.tenant).join(', ')}) written in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  t = performance.now();
  const hour = await startDemo(hourDir, RATE);
  servers.push(hour);
  const dashboard = await api<{ tiles: { output: string }[] }>(hour, '/api/dashboards/retail');
  const outputs = [...new Set(dashboard.tiles.map((x) => x.output))];
  for (;;) {
    const writers = await Promise.all(outputs.map(async (o) => (await api<{ writers: { clock: string | null }[] }>(hour, `/api/outputs/${o}?limit=1`)).writers));
    if (writers.every((ws) => ws.length > 0 && ws.every((w) => w.clock !== null && Date.parse(w.clock) >= endMs))) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const catchUp = (performance.now() - t) / 1000;
  console.log(`the demo started on it and its jobs caught up in ${catchUp.toFixed(1)} s (${Math.round(events.length / catchUp).toLocaleString('en-US')} events/s, spawn included); server RSS then ${mib(rssOf(hour.child.process.pid))} MiB`);
  const since = new Date(Date.now() - 86_400_000).toISOString();
  const rows = await Promise.all(outputs.map(async (o) => [o, (await api<{ rows: unknown[] }>(hour, `/api/outputs/${o}?limit=10000&since=${since}`)).rows.length] as const));
  console.log(`${TENANT}'s rows per output over the day (what the 1-day range covers; a page asks for at most 10,000, and 2,000 of an output no line or heatmap reads):`);
  console.log(`  ${rows.map(([o, n]) => `${o} ${n.toLocaleString('en-US')}`).join(', ')}\n`);

  const empty = await startDemo(emptyDir, 0);
  servers.push(empty);
  browser = await launchChromium();
  // Warm the browser (its first context starts processes) and both servers' caches.
  await loadPage(browser, empty.dashboard, ['empty']);
  await loadPage(browser, hour.dashboard, ['ready']);
  const hourLoads: Load[] = [];
  const emptyLoads: Load[] = [];
  for (let i = 0; i < RUNS; i++) {
    emptyLoads.push(await loadPage(browser, empty.dashboard, ['empty']));
    hourLoads.push(await loadPage(browser, hour.dashboard, ['ready']));
  }
  const col = (loads: readonly Load[], pick: (l: Load) => number | null): number[] => loads.map(pick).map((v) => v ?? NaN);
  const runs = (xs: readonly number[], digits = 0): string => xs.map((x) => x.toFixed(digits)).join(', ');
  const firstChart = col(hourLoads, (l) => l.firstChartMs);
  const emptySettled = col(emptyLoads, (l) => l.allSettledMs);
  const allReady = col(hourLoads, (l) => l.allReadyMs);
  const rowsOf = [
    ['load event: HTML, stylesheet and bundle, no rows (baseline)', col(hourLoads, (l) => l.loadEventMs)],
    ['empty data directory: every tile settled, saying it waits for rows (baseline)', emptySettled],
    [`${span} of rows, ${RANGE} range: first chart painted`, firstChart],
    [`${span} of rows, ${RANGE} range: all ${dashboard.tiles.length} tiles ready`, allReady],
  ] as const;
  console.log(table(['from the start of the navigation to…', 'median ms', 'runs'], rowsOf.map(([what, xs]) => [what, median([...xs]).toFixed(0), runs(xs)])));
  console.log(`\nevery tile ready with ${span} of rows / every tile settled on the empty data directory: ${(median(allReady) / median(emptySettled)).toFixed(2)}×`);
  console.log(`API answers received per load (${span} of rows): median ${(median(col(hourLoads, (l) => l.apiBytes)) / 1024).toFixed(0)} KiB (the empty page's: ${(median(col(emptyLoads, (l) => l.apiBytes)) / 1024).toFixed(0)} KiB)\n`);

  // Live: one page kept open, sampled every 30 s.
  const live = await loadPage(browser, hour.dashboard, ['ready'], true);
  const samples: Array<Array<string | number>> = [];
  const heaps: number[] = [];
  const sample = (label: string, m: PageMemory): void => {
    heaps.push(m.jsHeapUsed);
    samples.push([label, mib(m.jsHeapUsed), mib(m.jsHeapTotal), m.nodes, mib(rssOf(hour.child.process.pid))]);
  };
  sample('loaded', live.memory);
  const emptyMemory = emptyLoads.map((l) => l.memory.jsHeapUsed);
  for (let elapsed = SAMPLE_MS; elapsed <= LIVE_MINUTES * 60_000; elapsed += SAMPLE_MS) {
    await live.page!.waitForTimeout(SAMPLE_MS);
    await waitForTiles(live.page!, ['ready'], 10_000);
    sample(`after ${(elapsed / 60_000).toFixed(1)} min live`, await pageMemory(live.page!));
  }
  const phases = (await live.page!.evaluate(`[...document.querySelectorAll('section.tile')].map((t) => t.dataset.phase)`)) as string[];
  console.log(table(['page open', 'JS heap used MiB (after GC)', 'JS heap total MiB', 'DOM nodes', 'server RSS MiB'], samples));
  console.log(`\nJS heap after load, median of the ${RUNS} loads: ${mib(median(hourLoads.map((l) => l.memory.jsHeapUsed)))} MiB with ${span} of rows, ${mib(median(emptyMemory))} MiB on the empty data directory (baseline)`);
  if (heaps.length > 2) {
    // From the first sample on: the first 30 s also compile what only live updates run.
    const perMinute = (heaps[heaps.length - 1]! - heaps[1]!) / ((heaps.length - 2) * SAMPLE_MS / 60_000);
    console.log(`JS heap growth while live, from 0.5 min on: ${mib(perMinute)} MiB/min (rows a line or heatmap tile keeps pile up until its range or the cap per output drops them)`);
  }
  console.log(`tiles' live updates at the end: ${[...new Set(phases)].join(', ')}`);
  const errors = [...hourLoads, ...emptyLoads, live].flatMap((l) => l.errors);
  if (errors.length > 0) {
    console.error(`console or page errors:\n${errors.join('\n')}`);
    ok = false;
  }
  if (phases.some((p) => p !== 'live')) ok = false;
  console.log(`\nload average at end: ${load()}`);
} finally {
  await browser?.close();
  for (const s of servers) await s.child.stop();
  rmSync(base, { recursive: true, force: true });
}
if (!ok) process.exitCode = 1;
