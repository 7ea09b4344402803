// What the SDK needs from the page, as small interfaces: the browser's in browser-env.ts, fakes in
// the unit tests. The SDK declares what it touches rather than using the DOM library, so it is
// checked the same way in both places and cannot lean on Node.

/** localStorage's shape. */
export interface StorageLike {
  readonly length: number;
  key(index: number): string | null;
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface HttpRequest {
  readonly method: 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The part of fetch's Response the SDK reads. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  json(): Promise<unknown>;
}

export interface PageInfo {
  readonly path: string;
  readonly url: string;
  readonly title: string;
  readonly referrer: string;
}

/**
 * What the page tells the SDK: `hide` (the tab went to the background: the last moment a mobile
 * browser is sure to give), `close` (pagehide: unloading or entering the back-forward cache),
 * `show` (visible again, or back from that cache), `online` (the network came back).
 */
export type PageEvent = 'hide' | 'close' | 'show' | 'online';

export interface Env {
  now(): number;
  /** Uniform in [0, 1): the jitter of retries. */
  random(): number;
  /** A random UUID (crypto quality: it is the message's dedup key). */
  uuid(): string;
  readonly storage: StorageLike;
  /** fetch; a rejection is a network error. */
  fetch(url: string, request: HttpRequest): Promise<HttpResponse>;
  /** navigator.sendBeacon with a text body: true when the browser took it (not that it arrived). */
  beacon(url: string, body: string): boolean;
  setTimer(run: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /** Base64 HMAC-SHA256 of `text` under a base64 key; absent without WebCrypto (pages on plain http). */
  readonly hmac: ((keyBase64: string, text: string) => Promise<string>) | undefined;
  /** Runs `task` holding a lock the origin's tabs share (Web Locks); absent where unsupported. */
  readonly lock: (<T>(name: string, task: () => Promise<T>) => Promise<T>) | undefined;
  page(): PageInfo;
  /** Subscribes to the page's lifecycle and to other tabs' localStorage writes. */
  listen(onPage: (event: PageEvent) => void, onStorage: (key: string | null, value: string | null) => void): void;
}
