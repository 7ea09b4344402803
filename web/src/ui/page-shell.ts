// What every page has: a header (the name, links to the dashboards and live events, the theme
// toggle, and the page's own controls), and the pages that stand in for one that cannot be shown —
// a key that is missing or refused, a dashboard that does not exist, a server that cannot be
// reached — each saying what to do, never a blank page.
import { type ApiError } from './api-client.js';
import { h, withCode, type Child } from './dom.js';
import { currentTheme, onThemeChange, toggleTheme } from './theme.js';

export interface Shell {
  /** Where the page's controls go, in the header. */
  readonly controls: HTMLElement;
  readonly main: HTMLElement;
}

function themeToggle(): HTMLButtonElement {
  const label = (): string => (currentTheme() === 'dark' ? 'Light theme' : 'Dark theme');
  const button = h('button', { type: 'button', class: 'theme-toggle', title: 'Switch between light and dark', onclick: () => toggleTheme() }, label());
  const off = onThemeChange(() => {
    if (button.isConnected) button.textContent = label();
    else off();
  });
  return button;
}

/** Replaces the page's content with the header and an empty main part. */
export function shell(root: HTMLElement, key: string | null, current: 'home' | 'dashboard' | 'events'): Shell {
  const link = (path: string, text: string, here: boolean): HTMLElement =>
    h('a', { href: key ? `${path}?key=${encodeURIComponent(key)}` : path, 'aria-current': here ? 'page' : null }, text);
  const controls = h('div', { class: 'controls' });
  const main = h('main', { id: 'main' });
  root.replaceChildren(
    h('header', { class: 'site-header' },
      h('a', { class: 'brand', href: key ? `/?key=${encodeURIComponent(key)}` : '/' }, 'Omnistream'),
      h('nav', null, link('/', 'Dashboards', current === 'home'), link('/events', 'Live events', current === 'events')),
      controls,
      themeToggle()),
    main,
  );
  return { controls, main };
}

const KEY_HELP: Child[] = [
  'On the server run ', h('code', null, 'omnistream keys'), ' and open one of the dashboard links it prints (or ',
  h('code', null, 'omnistream keys add-viewer --tenant NAME'), ').',
];

/** No key in the URL, or one the server refused (`refused` is what it said). */
export function keyNeededPage(root: HTMLElement, what: 'dashboard' | 'page', given: string | null, refused: ApiError | null): void {
  document.title = 'Viewer key needed · Omnistream';
  const { main } = shell(root, null, 'home');
  main.append(h('section', { class: 'notice', role: 'alert' },
    h('h1', null, 'Viewer key needed'),
    h('p', null, what === 'dashboard' ? 'This dashboard needs a viewer key. ' : 'This page needs a viewer key. ', ...KEY_HELP),
    refused && given !== null
      ? h('p', { class: 'detail' }, 'The key in this link was refused: ', ...withCode(refused.message),
        given.startsWith('vk_') ? '' : ' (viewer keys start with vk_: an app key or a service key does not open dashboards)')
      : null,
    refused && given === null ? h('p', { class: 'detail' }, ...withCode(refused.message)) : null));
}

/** A page that could not be shown: a heading, what happened, and what can be done. */
export function messagePage(main: HTMLElement, title: string, text: string, ...actions: Child[]): void {
  main.replaceChildren(h('section', { class: 'notice', role: 'alert' },
    h('h1', null, title),
    h('p', null, ...withCode(text)),
    actions.length ? h('p', { class: 'actions' }, ...actions) : null));
}
