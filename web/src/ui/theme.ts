// Light and dark: the system's choice (prefers-color-scheme) until the reader picks one with the
// toggle, which is remembered (localStorage). The theme is `data-theme` on <html>; CSS and charts follow it.

export type Theme = 'light' | 'dark';

const STORAGE_KEY = 'omnistream.theme';
const listeners = new Set<(t: Theme) => void>();
let chosen: Theme | null = null;

function media(): MediaQueryList {
  return matchMedia('(prefers-color-scheme: dark)');
}

function stored(): Theme | null {
  try {
    const t = localStorage.getItem(STORAGE_KEY);
    return t === 'light' || t === 'dark' ? t : null;
  } catch {
    return null; // storage disabled (a privacy setting): the choice lasts as long as the page
  }
}

export function currentTheme(): Theme {
  return chosen ?? (media().matches ? 'dark' : 'light');
}

function apply(): void {
  const t = currentTheme();
  if (document.documentElement.dataset.theme === t) return;
  document.documentElement.dataset.theme = t;
  for (const fn of listeners) fn(t);
}

export function initTheme(): void {
  chosen = stored();
  apply();
  media().addEventListener('change', apply);
}

export function onThemeChange(fn: (t: Theme) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function toggleTheme(): void {
  chosen = currentTheme() === 'dark' ? 'light' : 'dark';
  try {
    localStorage.setItem(STORAGE_KEY, chosen);
  } catch {
    // Not remembered; switched for this page all the same.
  }
  apply();
}
