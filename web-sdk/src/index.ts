// @omnistream/web: one client per page. The ESM build exports these functions; the classic
// script exposes them as `window.Omnistream`.
import { browserEnv } from './browser-env.js';
import { Client, type DropReason, type Options, type Stats } from './client.js';

export type { DropReason, Options, Stats };

let client: Client | undefined;
/** Calls made before init (a page's own script may run first), replayed by init; bounded. */
const early: ((c: Client) => void)[] = [];

function call(run: (c: Client) => void): void {
  if (client) run(client);
  else if (early.length < 100) early.push(run);
}

/** Starts the SDK; later calls are ignored (one client per page). */
export function init(options: Options): void {
  if (client) return;
  client = new Client(browserEnv(), options);
  for (const run of early.splice(0)) run(client);
}

/** Queues an event: `product_viewed`, `product_tried_on`, `added_to_cart`, `order_completed`… */
export function track(event: string, properties?: Readonly<Record<string, unknown>>): void {
  call((c) => c.track(event, properties));
}

/** The shopper's id, carried by every later event as `shopper` (also on later pages); `null` on sign-out. */
export function identify(shopperId: string | null): void {
  call((c) => c.identify(shopperId));
}

/** A `page_viewed` event with the page's path, URL, title and referrer. */
export function page(properties?: Readonly<Record<string, unknown>>): void {
  call((c) => c.page(properties));
}

/** Sends what is queued now rather than at the next interval. */
export function flush(): void {
  call((c) => c.flush());
}

export function stats(): Stats {
  return client?.stats() ?? { queued: 0, sent: 0, dropped: 0 };
}
