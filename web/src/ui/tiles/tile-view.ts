// A tile: its title, what it draws, and around it what the reader needs to trust it — when rows
// last came, how far the writing jobs have read (their watermark), whether live updates are
// flowing. Before there is anything to draw it says why instead: the tile's problem from the
// server, an output that does not exist, rows not there yet, fields the rows do not have.
//
// For end-to-end tests and tools that read the page without parsing canvas pixels, each tile's
// element (`section.tile`) carries, updated whenever the tile renders:
//   data-tile     its index on the dashboard (0, 1, …), in the config's order
//   data-type     card, line, bar, table, funnel, pie or heatmap
//   data-output   the output it reads
//   data-state    loading  — the output's rows are not loaded yet
//                 ready    — drawn from rows (a chart is painted at ECharts' next frame)
//                 empty    — loaded, but nothing to draw: no rows yet (of the tenant shown), none in the range
//                 problem  — says what is wrong, and may recover by itself: rows that cannot be loaded now
//                            (retried), fields the rows do not have, values that are not numbers
//                 failed   — will not show rows until the config or the server changes: the tile's
//                            config has a problem, its output does not exist or was refused
//   data-summary  when ready: what it shows, as compact JSON (TileSummary in tile-body.ts) — a card's
//                 value, the top categories with their values (bar, pie, table rows), the funnel's
//                 steps, each line's and each heatmap row's newest value, and `at`, the newest
//                 timestamp drawn; absent in the other states
//   data-phase    the output's live updates: loading, connecting, live, reconnecting, suspended, failed
import { combineOf, fieldsOf, forTenant, noNumbersProblem, resolveTileFields } from '../../lib/tile-data.js';
import { formatClock } from '../../lib/time-format.js';
import type { TimeRange } from '../../lib/time-range.js';
import type { TileSpec, WriterStatus } from '../../lib/wire.js';
import { h, withCode } from '../dom.js';
import { type OutputFeed } from '../output-feed.js';
import { currentTheme } from '../theme.js';
import { cardBody } from './card-body.js';
import { chartBody } from './chart-body.js';
import { tableBody } from './table-body.js';
import type { TileBody, TileContext, TileSummary } from './tile-body.js';

/** What a tile shows, as its `data-state` says (see above). */
export type TileState = 'loading' | 'ready' | 'empty' | 'problem' | 'failed';

/** What the page has chosen, read at each render. */
export interface TileChoices {
  /** The tenant shown, or null for all. */
  readonly tenant: string | null;
  readonly range: TimeRange;
}

function bodyFor(spec: TileSpec): TileBody {
  switch (spec.type) {
    case 'card': return cardBody();
    case 'table': return tableBody();
    case 'line':
    case 'bar':
    case 'pie':
    case 'funnel':
    case 'heatmap': return chartBody(spec.type);
  }
}

/** The earliest watermark of the writing jobs (the rows are complete up to it), or null. */
function watermarkOf(writers: readonly WriterStatus[]): number | null {
  const marks = writers.map((w) => (w.watermark === null ? NaN : Date.parse(w.watermark))).filter(Number.isFinite);
  return marks.length ? Math.min(...marks) : null;
}

function notRunning(writers: readonly WriterStatus[]): string {
  const odd = writers.filter((w) => w.state !== 'running');
  return odd.map((w) => `job ${w.job} is ${w.state}`).join(', ');
}

export class TileView {
  readonly el: HTMLElement;
  private readonly body: TileBody;
  private readonly content: HTMLElement;
  private readonly message = h('div', { class: 'tile-message' });
  private readonly banner = h('div', { class: 'tile-banner', role: 'status', hidden: true });
  private readonly foot = h('footer', { class: 'tile-foot' });
  private frame: number | null = null;
  /** What the body last drew from: drawn again only when it changes (status events come every 2 s). */
  private drawn = '';

  constructor(private readonly spec: TileSpec, index: number, private readonly feed: OutputFeed | null, private readonly choices: () => TileChoices) {
    this.body = bodyFor(spec);
    this.content = h('div', { class: 'tile-content' }, this.body.el, this.message);
    this.el = h('section', { class: `tile w${spec.width} tile-${spec.type}`, 'data-tile': index, 'data-type': spec.type, 'data-output': spec.output, 'data-state': 'loading' },
      h('header', { class: 'tile-head' }, h('h2', null, spec.title || spec.output)),
      this.banner, this.content, this.foot);
  }

  /** Renders at the next frame (many updates in one frame render once; none while the tab is hidden). */
  schedule(): void {
    if (this.frame !== null) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      this.render();
    });
  }

  dispose(): void {
    if (this.frame !== null) cancelAnimationFrame(this.frame);
    this.body.dispose();
  }

  render(): void {
    const spec = this.spec;
    if (spec.problem !== null || this.feed === null) return this.say(spec.problem ?? 'This tile has no output', 'failed');
    const feed = this.feed;
    const choices = this.choices();
    this.renderStatus(feed, choices);
    if (feed.failure !== null) return this.say(feed.failure, 'failed');
    if (!feed.isLoaded) {
      return feed.trouble === null ? this.say('Loading…', 'loading') : this.say(`Cannot load the rows of ${spec.output}: ${feed.trouble}. Retrying…`, 'problem');
    }
    const rows = forTenant(feed.rows.all, choices.tenant);
    if (rows.length === 0) return this.say(this.waiting(feed, choices), 'empty');
    const fields = fieldsOf(rows);
    const resolved = resolveTileFields(spec, fields);
    if ('problem' in resolved) return this.say(resolved.problem, 'problem');
    const numeric = resolved.fields.value ?? (spec.type === 'funnel' ? resolved.fields.steps[0] : undefined);
    const noNumbers = numeric === undefined || numeric === null ? null : noNumbersProblem(rows, numeric, spec.output);
    if (noNumbers !== null) return this.say(noNumbers, 'problem');
    const now = Date.now();
    const ctx: TileContext = {
      spec, format: { format: spec.format, currency: spec.currency }, combine: combineOf(spec.format),
      range: choices.range, sinceMs: now - choices.range.ms, nowMs: now, theme: currentTheme(),
    };
    const drawing = `${feed.rows.version}|${choices.tenant}|${choices.range.id}|${ctx.theme}`;
    if (drawing === this.drawn) return;
    this.content.dataset.state = 'data';
    const drawn = this.body.draw(rows, resolved.fields, ctx);
    this.drawn = drawing;
    if (typeof drawn === 'string') this.say(drawn, 'empty', drawing);
    else this.mark('ready', drawn);
  }

  private say(text: string, state: Exclude<TileState, 'ready'>, drawing = ''): void {
    this.drawn = drawing;
    this.content.dataset.state = state === 'problem' || state === 'failed' ? 'problem' : 'quiet';
    this.message.replaceChildren(h('p', null, ...withCode(text)));
    this.mark(state, null);
  }

  /** The tile's state and summary for tests and tools (see the top of this file). */
  private mark(state: TileState, summary: TileSummary | null): void {
    this.el.dataset.state = state;
    if (summary === null) delete this.el.dataset.summary;
    else this.el.dataset.summary = JSON.stringify(summary);
  }

  private waiting(feed: OutputFeed, choices: TileChoices): string {
    const other = choices.tenant !== null && feed.rows.size > 0 ? `No rows of ${choices.tenant} yet. ` : '';
    if (feed.writers.length === 0) return `${other}Waiting for the first rows… no job writes ${this.spec.output} yet.`;
    const mark = watermarkOf(feed.writers);
    const several = feed.writers.length > 1;
    const state = notRunning(feed.writers);
    const watermark = mark === null
      ? `the ${several ? 'jobs have' : 'job has'} no watermark yet`
      : `the ${several ? 'jobs\'' : 'job\'s'} watermark is ${formatClock(mark, Date.now())}`;
    return `${other}Waiting for the first rows… ${watermark}${state ? ` (${state})` : ''}.`;
  }

  private renderStatus(feed: OutputFeed, choices: TileChoices): void {
    const phase = feed.phase;
    this.el.dataset.phase = phase;
    const reconnecting = phase === 'reconnecting' && feed.isLoaded;
    this.banner.hidden = !reconnecting;
    this.banner.textContent = reconnecting ? 'Live updates lost — reconnecting…' : '';
    const now = Date.now();
    const parts: string[] = [];
    if (feed.lastUpdateMs !== null) parts.push(`Updated ${formatClock(feed.lastUpdateMs, now)}`);
    const mark = watermarkOf(feed.writers);
    if (mark !== null) parts.push(`watermark ${formatClock(mark, now)}`);
    const state = notRunning(feed.writers);
    if (state) parts.push(state);
    if (choices.tenant === null && this.spec.type !== 'table') {
      const tenants = new Set(feed.rows.all.map((r) => r.tenant)).size;
      if (tenants > 1) parts.push(`${tenants} tenants ${combineOf(this.spec.format) === 'sum' ? 'added up' : 'averaged'}`);
    }
    if (feed.rows.capped) parts.push(`the newest ${feed.rows.size.toLocaleString()} rows kept`);
    if (feed.rejected > 0) parts.push(`${feed.rejected} malformed row${feed.rejected === 1 ? '' : 's'} skipped`);
    this.foot.textContent = parts.join(' · ');
  }
}
