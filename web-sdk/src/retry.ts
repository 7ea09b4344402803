// When to try again: exponential backoff with jitter after a failure, never sooner than a
// server's Retry-After, and spread so a storm's clients do not come back all at once.

export const BASE_DELAY_MS = 1_000;
export const MAX_DELAY_MS = 60_000;

/**
 * The wait before retry number `attempt` (1 for the first retry). Without `retryAfterMs`, "equal
 * jitter": half of min(cap, base·2^(attempt−1)) fixed, half random, so a retry is never immediate.
 * With it, the server's wait plus up to half of it again (at most the cap), never less.
 */
export function retryDelay(attempt: number, random: number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return retryAfterMs + random * Math.min(retryAfterMs / 2, MAX_DELAY_MS);
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(Math.max(attempt, 1) - 1, 16));
  return ceiling / 2 + (random * ceiling) / 2;
}

/** Retry-After as milliseconds from `now`: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * What an answer means for the events it carried: `ok` (stored, or duplicates of stored ones),
 * `retry` (nothing stored; try again after `after` ms if the server said so), `auth` (the token
 * was refused: renew or register, then retry), `reject` (the server refused the content: sending it
 * again cannot help).
 */
export type Outcome = { readonly k: 'ok' } | { readonly k: 'retry'; readonly after?: number | undefined } | { readonly k: 'auth' } | { readonly k: 'reject' };

export function isOutcome(value: unknown): value is Outcome {
  return typeof value === 'object' && value !== null && 'k' in value;
}

export function outcomeOf(status: number, headers: { get(name: string): string | null }, now: number): Outcome {
  if (status >= 200 && status < 300) return { k: 'ok' };
  // IotHubUnauthorized is a disabled device (or a policy without the right): an operator's decision.
  if (status === 401) return headers.get('iothub-errorcode') === 'IotHubUnauthorized' ? { k: 'reject' } : { k: 'auth' };
  if (status === 400 || status === 403 || status === 413 || status === 415) return { k: 'reject' };
  // 429 and 503 carry Retry-After; 404, 408 and 5xx may be a proxy or a restart: all passing.
  return { k: 'retry', after: parseRetryAfter(headers.get('retry-after'), now) };
}
