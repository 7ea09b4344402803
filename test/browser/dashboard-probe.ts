// Reading a dashboard page from outside, as the browser tests and the dashboard benchmark do: a
// headless Chromium (Debian's, through playwright-core), the tiles' data-* attributes (documented
// in web/src/ui/tiles/tile-view.ts) rather than canvas pixels, and the moments the page drew its
// first chart and had every tile ready, stamped inside the page (performance.now(): ms since the
// navigation started), and the page's JS heap.
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Chart tiles (drawn on a canvas by ECharts), as opposed to cards and tables (text). */
export const CHART_TYPES: readonly string[] = ['line', 'bar', 'pie', 'funnel', 'heatmap'];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--disable-sync'],
  });
}

export interface Tile {
  readonly index: number;
  readonly type: string;
  readonly output: string;
  readonly title: string;
  readonly state: string;
  readonly phase: string | null;
  /** The parsed data-summary, or null when the tile is not ready. */
  readonly summary: Readonly<Record<string, unknown>> | null;
  /** The tile's message when it is not ready (what it says instead). */
  readonly message: string;
}

// The code run in the page is written as text: these files are checked without the DOM's types.

/** Every tile of the page as its attributes say. */
export async function readTiles(page: Page): Promise<Tile[]> {
  const raw = (await page.evaluate(`[...document.querySelectorAll('section.tile')].map((e) => ({
    index: Number(e.dataset.tile), type: e.dataset.type ?? '', output: e.dataset.output ?? '',
    title: e.querySelector('h2')?.textContent ?? '', state: e.dataset.state ?? '', phase: e.dataset.phase ?? null,
    summary: e.dataset.summary ?? null, message: e.querySelector('.tile-message')?.textContent ?? '',
  }))`)) as (Omit<Tile, 'summary'> & { summary: string | null })[];
  return raw.map((t) => ({ ...t, summary: t.summary === null ? null : (JSON.parse(t.summary) as Record<string, unknown>) }));
}

/**
 * Stamps, in every page of `context`, when the first chart tile became ready, then every tile, and
 * when every tile had settled (ready, or saying why not: empty, problem, failed). A stamp is taken
 * two animation frames after the state changed: ECharts paints in the frame after a tile draws, so
 * the stamp is at or just after the paint (at most a frame, ~17 ms, late).
 */
export async function watchTiles(context: BrowserContext): Promise<void> {
  await context.addInitScript({ content: `(() => {
    const chartTypes = ${JSON.stringify(CHART_TYPES)};
    const marks = window.omnistreamMarks = { firstChartMs: null, allReadyMs: null, allSettledMs: null };
    const seen = new Set();
    const stamp = (name) => {
      if (seen.has(name)) return;
      seen.add(name);
      requestAnimationFrame(() => requestAnimationFrame(() => { marks[name] = performance.now(); }));
    };
    new MutationObserver(() => {
      const tiles = [...document.querySelectorAll('section.tile')];
      if (tiles.length === 0) return;
      if (tiles.some((t) => t.dataset.state === 'ready' && chartTypes.includes(t.dataset.type))) stamp('firstChartMs');
      if (tiles.every((t) => t.dataset.state === 'ready')) stamp('allReadyMs');
      if (tiles.every((t) => t.dataset.state !== 'loading')) stamp('allSettledMs');
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
  })();` });
}

export interface TileTimings {
  /** From the start of the navigation to the first chart tile painted with rows, ms. */
  readonly firstChartMs: number | null;
  /** … to every tile ready. */
  readonly allReadyMs: number | null;
  /** … to every tile settled: drawn, or saying why not (no rows yet, a problem). */
  readonly allSettledMs: number | null;
}

/** The stamps of watchTiles, once those named are there. */
export async function tileTimings(page: Page, timeoutMs: number, needed: readonly (keyof TileTimings)[] = ['firstChartMs', 'allReadyMs']): Promise<TileTimings> {
  const handle = await page.waitForFunction(`(() => {
    const m = window.omnistreamMarks;
    return m && ${JSON.stringify(needed)}.every((n) => m[n] !== null) ? m : null;
  })()`, undefined, { timeout: timeoutMs });
  return (await handle.jsonValue()) as TileTimings;
}

/** Waits until every tile is in one of `states` (at least one tile), or fails after `timeoutMs` saying what each tile shows. */
export async function waitForTiles(page: Page, states: readonly string[], timeoutMs: number): Promise<Tile[]> {
  try {
    await page.waitForFunction(`(() => {
      const tiles = [...document.querySelectorAll('section.tile')];
      return tiles.length > 0 && tiles.every((t) => ${JSON.stringify(states)}.includes(t.dataset.state));
    })()`, undefined, { timeout: timeoutMs });
  } catch (e) {
    const tiles = await readTiles(page).catch(() => []);
    const shown = tiles.map((t) => `${t.index} ${t.type} ${t.output}: ${t.state}${t.message ? ` (${t.message})` : ''}`).join('; ');
    throw new Error(`not every tile is ${states.join(' or ')} after ${timeoutMs} ms: ${shown || 'no tiles'}`, { cause: e });
  }
  return readTiles(page);
}

export interface PageMemory {
  /** JS heap in use, bytes (after a garbage collection). */
  readonly jsHeapUsed: number;
  /** JS heap reserved, bytes. */
  readonly jsHeapTotal: number;
  /** DOM nodes alive. */
  readonly nodes: number;
}

/** The page's memory through the DevTools protocol (Performance.getMetrics), after a garbage collection. */
export async function pageMemory(page: Page): Promise<PageMemory> {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send('HeapProfiler.collectGarbage');
    await cdp.send('Performance.enable');
    const { metrics } = await cdp.send('Performance.getMetrics');
    const metric = (name: string): number => {
      const m = metrics.find((x) => x.name === name);
      if (!m) throw new Error(`Chromium reported no ${name}`);
      return m.value;
    };
    return { jsHeapUsed: metric('JSHeapUsedSize'), jsHeapTotal: metric('JSHeapTotalSize'), nodes: metric('Nodes') };
  } finally {
    await cdp.detach();
  }
}
