// "Shoppers who tried this also bought" under a dashboard's tiles (dashboards.<name>.recommendations):
// the recommender's neighbours of the tenant's most popular items, asked again every 10 seconds.
import { apiUrl, segment } from '../lib/api-url.js';
import { getJson } from './api-client.js';
import { h } from './dom.js';

const REFRESH_MS = 10_000;
/** Popular items shown, and what goes with each. */
const ITEMS = 5;
const ALSO = 3;

interface Answer {
  readonly items: readonly { readonly item: string; readonly score: number }[];
  readonly fallback?: string;
}

function answerOf(json: unknown): Answer {
  const items = (json as { items?: unknown }).items;
  if (!Array.isArray(items)) throw new Error('the recommendations answer has no items');
  return {
    items: items.filter((x): x is { item: string; score: number } => typeof x?.item === 'string' && typeof x?.score === 'number'),
    fallback: typeof (json as { fallback?: unknown }).fallback === 'string' ? (json as { fallback: string }).fallback : undefined,
  };
}

export interface RecsPanel {
  readonly el: HTMLElement;
  /** Asks again now (the tenant changed). */
  refresh(): void;
  stop(): void;
}

/** `tenant()` is the tenant chosen on the page (null: the key's own, or `default`). */
export function recsPanel(key: string, tenant: () => string | null): RecsPanel {
  const body = h('div', { class: 'recs-body' }, h('p', { class: 'muted' }, 'Learning from the shoppers…'));
  const el = h('section', { class: 'recs' }, h('h2', null, 'Shoppers who tried this also bought'), body);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let generation = 0;

  const load = async (): Promise<void> => {
    const mine = ++generation;
    const params = { tenant: tenant(), k: ITEMS };
    try {
      const popular = answerOf(await getJson(apiUrl('/api/recommendations/popular', key, params)));
      const rows = await Promise.all(popular.items.map(async ({ item }) => {
        const also = answerOf(await getJson(apiUrl(`/api/recommendations/items/${segment(item)}`, key, { tenant: tenant(), k: ALSO })));
        return { item, also: also.fallback === undefined ? also.items.map((x) => x.item) : [] };
      }));
      if (mine !== generation || stopped) return;
      body.replaceChildren(rows.length === 0
        ? h('p', { class: 'muted' }, 'Nothing learned yet: the recommender needs a few shoppers first.')
        : h('table', null,
          h('thead', null, h('tr', null, h('th', null, 'Tried or viewed'), h('th', null, 'Also bought, tried or viewed'))),
          h('tbody', null, rows.map((r) => h('tr', null, h('td', null, r.item), h('td', null, r.also.length > 0 ? r.also.join(' · ') : '—'))))));
    } catch (e) {
      if (mine !== generation || stopped) return;
      body.replaceChildren(h('p', { class: 'muted' }, `Recommendations are not available: ${e instanceof Error ? e.message : String(e)}`));
    }
  };
  const loop = (): void => {
    void load().finally(() => {
      if (!stopped) timer = setTimeout(loop, REFRESH_MS);
    });
  };
  loop();
  return {
    el,
    refresh: () => void load(),
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
