// Reading the APIs: every URL with the page's viewer key, and every failure as one of three errors
// the pages tell apart (lib/api-errors.ts) — the key was refused (show how to get one), the server
// answered an error (say what it said), or it could not be reached (retry).
import { ApiError, KeyRefusedError, UnreachableError } from '../lib/api-errors.js';
import { parseServerError } from '../lib/wire.js';

export { ApiError, KeyRefusedError, UnreachableError };

/** The viewer key of the page's URL (`?key=vk_…`), or null. */
export function viewerKey(): string | null {
  const key = new URLSearchParams(location.search).get('key')?.trim();
  return key ? key : null;
}

/** A link to another page, carrying the key (and `params`). */
export function pageLink(path: string, key: string, params: Readonly<Record<string, string | null>> = {}): string {
  const q = new URLSearchParams({ key });
  for (const [name, v] of Object.entries(params)) if (v !== null && v !== '') q.set(name, v);
  return `${path}?${q.toString()}`;
}

/** Replaces one parameter of the page's own URL (the range, the tenant, filters), keeping the rest. */
export function setPageParam(name: string, value: string | null): void {
  const url = new URL(location.href);
  if (value === null || value === '') url.searchParams.delete(name);
  else url.searchParams.set(name, value);
  history.replaceState(history.state, '', url);
}

/** GET a JSON answer. */
export async function getJson(url: string, signal?: AbortSignal): Promise<unknown> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { signal, cache: 'no-store', headers: { accept: 'application/json' } });
    text = await res.text();
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new UnreachableError(`Cannot reach the server (${e instanceof Error ? e.message : String(e)})`);
  }
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    // Not JSON: a proxy's error page, or a server too old to have this API. Said below.
  }
  if (!res.ok) {
    const err = parseServerError(json);
    const code = err?.code ?? `http_${res.status}`;
    const message = err?.message ?? `The server answered ${res.status} ${res.statusText}`.trim();
    if (res.status === 401) throw new KeyRefusedError(res.status, code, message);
    throw new ApiError(res.status, code, message);
  }
  if (json === undefined) throw new ApiError(res.status, 'bad_response', `The server's answer to ${new URL(url, location.href).pathname} is not JSON`);
  return json;
}
