// Building elements. Text always goes in as text (textContent), never as HTML: titles, row values
// and event bodies come from config and devices, and must not become markup.

export type Child = Node | string | number | null | undefined | false;
type Listener = (e: Event) => void;
export type Attrs = Readonly<Record<string, string | number | boolean | null | undefined | Listener>>;

/** `h('a', { href, class: 'x', onclick }, 'text', child)`; null, undefined and false attributes and children are left out. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs | null = null, ...children: (Child | readonly Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(name.replace(/^on/, ''), v);
    else el.setAttribute(name, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: readonly (Child | readonly Child[])[]): void {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
}

/** Text with `code` spans for the parts between backticks, as the server's and the tiles' messages write field names. */
export function withCode(text: string): Node[] {
  return text.split('`').map((part, i) => (i % 2 === 1 ? h('code', null, part) : document.createTextNode(part)));
}
