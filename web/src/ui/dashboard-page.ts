// A dashboard: its tiles on a 4-column grid (one column on a phone), each output's rows loaded
// once however many tiles read it, and all of them followed live over one stream (page-feeds.ts);
// a time range for line and heatmap tiles; for a
// viewer key that sees every tenant, a choice of tenant. The range and tenant are in the URL, so a
// link shows what its sender saw.
import { apiUrl, segment } from '../lib/api-url.js';
import { timeRangeOf, TIME_RANGES, type TimeRange } from '../lib/time-range.js';
import { parseDashboard, WireError, type DashboardSpec } from '../lib/wire.js';
import { ApiError, getJson, KeyRefusedError, pageLink, setPageParam, UnreachableError } from './api-client.js';
import { h, withCode } from './dom.js';
import { browserFeedEnvironment } from './browser-feed-environment.js';
import { PageFeeds } from './page-feeds.js';
import { recsPanel } from './recs-panel.js';
import { keyNeededPage, messagePage, shell } from './page-shell.js';
import { onThemeChange } from './theme.js';
import { TileView } from './tiles/tile-view.js';

/** A page hidden this long lets go of its stream, and takes it up again when shown. */
const SUSPEND_AFTER_MS = 15_000;
const RETRY_LOAD_MS = 5_000;
const ALL = '';

export async function dashboardPage(root: HTMLElement, name: string, key: string): Promise<void> {
  const { controls, main } = shell(root, key, 'dashboard');
  document.title = `${name} · Omnistream`;
  main.replaceChildren(h('p', { class: 'loading' }, 'Loading the dashboard…'));
  let spec: DashboardSpec;
  for (;;) {
    try {
      spec = parseDashboard(await getJson(apiUrl(`/api/dashboards/${segment(name)}`, key)));
      break;
    } catch (e) {
      if (e instanceof KeyRefusedError) return keyNeededPage(root, 'dashboard', key, e);
      if (e instanceof ApiError && e.code === 'dashboard_not_found') {
        return messagePage(main, 'No such dashboard', e.message, h('a', { href: pageLink('/', key) }, 'See the dashboards'));
      }
      if (e instanceof UnreachableError || (e instanceof ApiError && e.status >= 500)) {
        messagePage(main, 'Cannot load the dashboard', `${e.message}. Trying again in ${RETRY_LOAD_MS / 1000} s…`);
        await new Promise((resolve) => setTimeout(resolve, RETRY_LOAD_MS));
        continue;
      }
      const text = e instanceof WireError ? `The server's answer is not a dashboard: ${e.message}` : e instanceof Error ? e.message : String(e);
      return messagePage(main, 'Cannot show the dashboard', text, h('a', { href: pageLink('/', key) }, 'See the dashboards'));
    }
  }
  showDashboard(root, controls, main, spec, key);
}

function showDashboard(root: HTMLElement, controls: HTMLElement, main: HTMLElement, spec: DashboardSpec, key: string): void {
  document.title = `${spec.title} · Omnistream`;
  const params = new URLSearchParams(location.search);
  let range: TimeRange = timeRangeOf(params.get('range'));
  // A key bound to a tenant sees only its rows: there is nothing to choose.
  let tenant: string | null = spec.viewer.tenant === null ? params.get('tenant') || null : null;

  // One feed per output, whichever tiles read it, in reading order.
  const usesRange = new Set(spec.tiles.filter((t) => t.problem === null && (t.type === 'line' || t.type === 'heatmap')).map((t) => t.output));
  const outputs = [...new Set(spec.tiles.filter((t) => t.problem === null).map((t) => t.output))];
  let refused = false;
  const onKeyRefused = (e: KeyRefusedError): void => {
    if (refused) return;
    refused = true;
    teardown();
    keyNeededPage(root, 'dashboard', key, e);
  };
  const live = new PageFeeds(outputs.map((output) => ({ output, rangeMs: usesRange.has(output) ? range.ms : null })), key, onKeyRefused, browserFeedEnvironment);
  const feeds = live.feeds;
  const tiles = spec.tiles.map((t, i) => new TileView(t, i, t.problem === null ? feeds.get(t.output)! : null, () => ({ tenant, range })));
  const renderAll = (): void => tiles.forEach((t) => t.schedule());

  // The controls: range (when a tile uses one) and tenant (when rows of several come).
  const rangeSelect = h('select', { 'aria-label': 'Time range', onchange: () => {
    range = timeRangeOf(rangeSelect.value);
    setPageParam('range', range.id);
    for (const [output, feed] of feeds) if (usesRange.has(output)) feed.setRange(range.ms);
    renderAll();
  } }, TIME_RANGES.map((r) => h('option', { value: r.id, selected: r.id === range.id }, r.label)));
  const tenantSelect = h('select', { 'aria-label': 'Tenant', hidden: true, onchange: () => {
    tenant = tenantSelect.value === ALL ? null : tenantSelect.value;
    setPageParam('tenant', tenant);
    renderAll();
    recs?.refresh();
  } });
  let knownTenants = '';
  const refreshTenants = (): void => {
    if (spec.viewer.tenant !== null) return;
    const all = new Set<string>();
    for (const f of feeds.values()) for (const t of f.rows.tenants()) if (t !== '*') all.add(t);
    if (tenant !== null) all.add(tenant);
    const list = [...all].sort();
    if (list.join('\n') === knownTenants) return;
    knownTenants = list.join('\n');
    tenantSelect.replaceChildren(h('option', { value: ALL }, 'All tenants'), ...list.map((t) => h('option', { value: t }, t)));
    tenantSelect.value = tenant ?? ALL;
    tenantSelect.hidden = list.length < 2 && tenant === null;
  };
  if (usesRange.size > 0) controls.append(rangeSelect);
  controls.append(tenantSelect);

  const scope = spec.viewer.tenant === null ? null : h('span', { class: 'scope' }, `Tenant ${spec.viewer.tenant}`);
  main.replaceChildren(
    h('div', { class: 'page-head' },
      h('h1', null, spec.title), scope,
      spec.description ? h('p', { class: 'description' }, ...withCode(spec.description)) : null),
    spec.tiles.length === 0
      ? h('p', { class: 'notice' }, 'This dashboard has no tiles: add some under ', h('code', null, `dashboards.${spec.name}.tiles`), ' in the config file.')
      : h('div', { class: 'grid' }, tiles.map((t) => t.el)),
  );
  // The tenant chosen on the page; a key bound to one sends its own.
  const recs = spec.recommendations ? recsPanel(key, () => tenant) : undefined;
  if (recs) main.append(recs.el);

  for (const feed of feeds.values()) {
    feed.onChange(() => {
      for (const t of tiles) t.schedule();
      refreshTenants();
    });
  }
  live.start();
  renderAll();

  const offTheme = onThemeChange(renderAll);
  let hiddenTimer: ReturnType<typeof setTimeout> | null = null;
  const onVisibility = (): void => {
    if (document.hidden) {
      hiddenTimer ??= setTimeout(() => live.suspend(), SUSPEND_AFTER_MS);
    } else {
      if (hiddenTimer !== null) clearTimeout(hiddenTimer);
      hiddenTimer = null;
      live.resume();
      renderAll();
    }
  };
  document.addEventListener('visibilitychange', onVisibility);
  const onPageHide = (): void => live.suspend();
  const onPageShow = (): void => live.resume();
  // Leaving the page closes its stream at once (and a page restored from the back-forward cache takes it up again).
  window.addEventListener('pagehide', onPageHide);
  window.addEventListener('pageshow', onPageShow);

  function teardown(): void {
    offTheme();
    document.removeEventListener('visibilitychange', onVisibility);
    window.removeEventListener('pagehide', onPageHide);
    window.removeEventListener('pageshow', onPageShow);
    if (hiddenTimer !== null) clearTimeout(hiddenTimer);
    live.stop();
    recs?.stop();
    for (const t of tiles) t.dispose();
  }
}
