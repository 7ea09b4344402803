// The URLs of the server's APIs, each carrying the viewer key: an EventSource cannot send headers,
// so the key goes in the query string of every API and stream URL alike. Pure.

export type Params = Readonly<Record<string, string | number | null | undefined>>;

/** `path?key=…&name=value…`; parameters that are null, undefined or empty are left out. */
export function apiUrl(path: string, key: string, params: Params = {}): string {
  const q = new URLSearchParams({ key });
  for (const [name, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === '') continue;
    q.set(name, String(v));
  }
  return `${path}?${q.toString()}`;
}

/** A path segment (an output or dashboard name) as it goes into a URL. */
export function segment(name: string): string {
  return encodeURIComponent(name);
}
