// The landing page: the dashboards this key opens, the live events, and the docs.
import { apiUrl } from '../lib/api-url.js';
import { parseDashboardList, WireError, type DashboardList } from '../lib/wire.js';
import { ApiError, getJson, KeyRefusedError, pageLink, UnreachableError } from './api-client.js';
import { h } from './dom.js';
import { keyNeededPage, messagePage, shell } from './page-shell.js';

const RETRY_LOAD_MS = 5_000;

/** The docs the server serves as text at /docs/{name}.md. */
const DOCS: readonly (readonly [string, string])[] = [
  ['getting-started', 'Getting started'],
  ['dashboards', 'Dashboards and tiles'],
  ['jobs', 'Continuous jobs and outputs'],
  ['query-language', 'The query language'],
  ['http-api', 'The HTTP API'],
  ['feed', 'Reading the event feed'],
  ['operations', 'Operations and settings'],
];

export async function landingPage(root: HTMLElement, key: string | null): Promise<void> {
  if (key === null) return keyNeededPage(root, 'dashboard', null, null);
  const { main } = shell(root, key, 'home');
  document.title = 'Omnistream';
  main.replaceChildren(h('p', { class: 'loading' }, 'Loading the dashboards…'));
  let list: DashboardList;
  for (;;) {
    try {
      list = parseDashboardList(await getJson(apiUrl('/api/dashboards', key)));
      break;
    } catch (e) {
      if (e instanceof KeyRefusedError) return keyNeededPage(root, 'dashboard', key, e);
      if (e instanceof UnreachableError || (e instanceof ApiError && e.status >= 500)) {
        messagePage(main, 'Cannot load the dashboards', `${e.message}. Trying again in ${RETRY_LOAD_MS / 1000} s…`);
        await new Promise((resolve) => setTimeout(resolve, RETRY_LOAD_MS));
        continue;
      }
      const text = e instanceof WireError ? `The server's answer is not a list of dashboards: ${e.message}` : e instanceof Error ? e.message : String(e);
      return messagePage(main, 'Cannot list the dashboards', text);
    }
  }
  const scope = list.viewer.tenant === null ? 'This key sees every tenant.' : `This key sees tenant ${list.viewer.tenant} only.`;
  main.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', null, 'Dashboards'), h('p', { class: 'description' }, scope)),
    list.dashboards.length === 0
      ? h('p', { class: 'notice' }, 'No dashboard is configured. Add one under ', h('code', null, 'dashboards:'), ' in the config file (see ',
        h('a', { href: '/docs/dashboards.md' }, 'the dashboards doc'), ').')
      : h('ul', { class: 'cards' }, list.dashboards.map((d) => h('li', null,
        h('a', { class: 'card-link', href: pageLink(`/dashboards/${encodeURIComponent(d.name)}`, key) },
          h('strong', null, d.title),
          d.description ? h('span', null, d.description) : null,
          h('small', null, `${d.tiles} tile${d.tiles === 1 ? '' : 's'}`))))),
    h('section', { class: 'more' },
      h('h2', null, 'Live events'),
      h('p', null, h('a', { href: pageLink('/events', key) }, 'Watch incoming events'), ' — device, channel, event name and body as they arrive, with filters.')),
    h('section', { class: 'more' },
      h('h2', null, 'Documentation'),
      h('ul', { class: 'docs' }, DOCS.map(([file, title]) => h('li', null, h('a', { href: `/docs/${file}.md` }, title))))),
  );
}
