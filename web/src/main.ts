// The web app: one page that routes on its path — the landing page (/), a dashboard
// (/dashboards/{name}) and live events (/events) — with the viewer key of its URL.
import './styles.css';
import { viewerKey } from './ui/api-client.js';
import { dashboardPage } from './ui/dashboard-page.js';
import { h } from './ui/dom.js';
import { eventsPage } from './ui/events-page.js';
import { landingPage } from './ui/landing-page.js';
import { keyNeededPage, messagePage, shell } from './ui/page-shell.js';
import { initTheme } from './ui/theme.js';

/** Something no page handled: said on the page (the browser's console has the stack), rather than a page that stops moving. */
function showFailure(message: string): void {
  let bar = document.getElementById('failure');
  if (!bar) {
    bar = h('div', { id: 'failure', role: 'alert' });
    document.body.prepend(bar);
  }
  bar.textContent = `Something went wrong on this page: ${message}. Reloading the page may help.`;
}

function route(root: HTMLElement): void | Promise<void> {
  const key = viewerKey();
  const path = location.pathname.replace(/\/+$/, '') || '/';
  if (path === '/') return landingPage(root, key);
  if (path === '/events') return eventsPage(root, key);
  const m = /^\/dashboards\/([^/]+)$/.exec(path);
  if (m) {
    if (key === null) return keyNeededPage(root, 'dashboard', null, null);
    let name: string;
    try {
      name = decodeURIComponent(m[1]!);
    } catch {
      name = m[1]!;
    }
    return dashboardPage(root, name, key);
  }
  const { main } = shell(root, key, 'home');
  messagePage(main, 'No such page', `There is no page at \`${location.pathname}\`.`, h('a', { href: key ? `/?key=${encodeURIComponent(key)}` : '/' }, 'See the dashboards'));
}

window.addEventListener('error', (e) => showFailure(e.message || 'an error'));
window.addEventListener('unhandledrejection', (e) => showFailure(e.reason instanceof Error ? e.reason.message : String(e.reason)));
initTheme();
const root = document.getElementById('app') ?? document.body.appendChild(h('div', { id: 'app' }));
void Promise.resolve(route(root)).catch((e: unknown) => showFailure(e instanceof Error ? e.message : String(e)));
