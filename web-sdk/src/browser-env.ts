// The SDK's Env (ports.ts) in a browser. Everything here is guarded: a storefront must never break
// because storage is disabled or a page runs on plain http (no WebCrypto, no randomUUID there).
import { memoryStorage } from './memory-storage.js';
import type { Env, StorageLike } from './ports.js';

/** A request that hangs (a proxy, a captive portal) counts as a network error and is retried. */
const REQUEST_TIMEOUT_MS = 30_000;

function localStorageOrMemory(): StorageLike {
  try {
    const s = window.localStorage;
    s.setItem('omnistream:probe', '1');
    s.removeItem('omnistream:probe');
    return s;
  } catch {
    return memoryStorage();
  }
}

/** A version 4 UUID from getRandomValues, which unlike randomUUID works outside secure contexts. */
function uuid(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 15) | 64;
  b[8] = (b[8]! & 63) | 128;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function browserEnv(): Env {
  const subtle = globalThis.crypto?.subtle;
  const locks = navigator.locks;
  return {
    now: () => Date.now(),
    random: () => Math.random(),
    uuid,
    storage: localStorageOrMemory(),
    fetch: (url, r) => fetch(url, { ...r, mode: 'cors', credentials: 'omit', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }),
    beacon(url, body) {
      try {
        return navigator.sendBeacon(url, body);
      } catch {
        return false;
      }
    },
    setTimer: (run, ms) => setTimeout(run, ms),
    clearTimer: (handle) => clearTimeout(handle as number),
    hmac: subtle && (async (keyBase64, text) => {
      const key = await subtle.importKey('raw', Uint8Array.from(atob(keyBase64), (c) => c.charCodeAt(0)), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      return btoa(String.fromCharCode(...new Uint8Array(await subtle.sign('HMAC', key, new TextEncoder().encode(text)))));
    }),
    // request() resolves with the task's result, which the DOM types wrap in one Promise too many.
    lock: locks && (<T>(name: string, task: () => Promise<T>) => locks.request(name, task) as unknown as Promise<T>),
    page: () => ({ path: location.pathname, url: location.href, title: document.title, referrer: document.referrer }),
    listen(onPage, onStorage) {
      document.addEventListener('visibilitychange', () => onPage(document.visibilityState === 'hidden' ? 'hide' : 'show'));
      addEventListener('pagehide', () => onPage('close'));
      addEventListener('pageshow', (e) => e.persisted && onPage('show'));
      addEventListener('online', () => onPage('online'));
      addEventListener('storage', (e) => onStorage(e.key, e.newValue));
    },
  };
}
