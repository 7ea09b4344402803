// The page's device identity: registered once through /api/register with the public app key, kept
// in localStorage (so every tab and every later visit is the same device, which the server's
// messageId dedup is scoped to), its SAS token renewed before it expires.
//
// Renewal signs a new token with the device's own key (WebCrypto HMAC-SHA256, as IoT Hub's SDKs do
// in Node), so the device and its dedup window stay the same. Without WebCrypto (a page on plain
// http other than localhost) the page registers again: a new device, whose only cost is that an
// event whose acknowledgement was lost just before the switch may be stored twice.
import type { Env } from './ports.js';
import { outcomeOf, type Outcome } from './retry.js';

export interface Credential {
  /** deviceId */
  readonly d: string;
  /** primaryKey (base64) */
  readonly k: string;
  /** hostName, the SAS resource's first segment */
  readonly h: string;
  /** the SAS token */
  readonly t: string;
  /** when it expires (ms) */
  readonly e: number;
  /** its lifetime (ms): renewed tokens get the same */
  readonly l: number;
}

/** How long a registering tab keeps the lock after storing the new device (see register). */
const HANDOVER_MS = 250;

/** Renew once less than this share of the token's lifetime is left. */
const RENEW_AT = 0.2;

const enc = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export async function signToken(hmac: NonNullable<Env['hmac']>, hostName: string, deviceId: string, key: string, expiryMs: number): Promise<string> {
  const sr = enc(`${hostName}/devices/${deviceId}`);
  const se = Math.floor(expiryMs / 1000);
  return `SharedAccessSignature sr=${sr}&sig=${enc(await hmac(key, `${sr}\n${se}`))}&se=${se}`;
}

export class Credentials {
  private pending: Promise<Credential> | undefined;

  constructor(
    private readonly env: Env,
    private readonly endpoint: string,
    private readonly appKey: string,
    /** The storage key, one per endpoint and app key. */
    private readonly key: string,
  ) {}

  /** The stored credential, whatever its age (another tab may have stored a newer one). */
  stored(): Credential | undefined {
    try {
      const c = JSON.parse(this.env.storage.getItem(this.key) ?? 'null') as Credential | null;
      return c && typeof c.d === 'string' && typeof c.t === 'string' ? c : undefined;
    } catch {
      return undefined;
    }
  }

  /** A credential whose token has time left; throws an Outcome when the server refused or could not be reached. */
  get(): Promise<Credential> {
    const c = this.stored();
    if (c && c.e - this.env.now() > c.l * RENEW_AT) return Promise.resolve(c);
    // One renewal or registration at a time: in this page by `pending`, across tabs by a Web Lock.
    this.pending ??= this.locked(() => this.refresh()).finally(() => (this.pending = undefined));
    return this.pending;
  }

  /**
   * The server refused the token `token`: sign a new one (`fresh`: register a new device, for a
   * device that was deleted or whose key was rotated). Nothing happens when another tab already
   * replaced it.
   */
  invalidate(token: string, fresh: boolean): void {
    const c = this.stored();
    if (c?.t !== token) return;
    if (fresh) this.env.storage.removeItem(this.key);
    else this.save({ ...c, e: 0 });
  }

  private locked(task: () => Promise<Credential>): Promise<Credential> {
    return this.env.lock ? this.env.lock(this.key, task) : task();
  }

  private async refresh(): Promise<Credential> {
    const now = this.env.now();
    const c = this.stored();
    if (c && c.e - now > c.l * RENEW_AT) return c;
    if (c && this.env.hmac) {
      const e = now + c.l;
      return this.save({ ...c, t: await signToken(this.env.hmac, c.h, c.d, c.k, e), e });
    }
    return this.register(now);
  }

  private async register(now: number): Promise<Credential> {
    let outcome: Outcome;
    try {
      // text/plain: no CORS preflight.
      const res = await this.env.fetch(`${this.endpoint}/api/register`, {
        method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ appKey: this.appKey, kind: 'browser' }),
      });
      outcome = outcomeOf(res.status, res.headers, now);
      if (outcome.k === 'ok') {
        const r = (await res.json()) as { deviceId: string; primaryKey: string; sasToken: string; expiresAt: string; hostName: string };
        const e = Date.parse(r.expiresAt);
        // The expiry is by the server's clock; a page clock off by minutes still renews hours early.
        const c = this.save({ d: r.deviceId, k: r.primaryKey, h: r.hostName, t: r.sasToken, e, l: Math.max(60_000, e - now) });
        // Chromium hands a localStorage write to other tabs' processes asynchronously, apart from
        // the lock's release: a tab waiting on the lock could read no credential and register a
        // second device. Holding the lock a moment longer (once per device) lets the write land.
        if (this.env.lock) await new Promise((resolve) => this.env.setTimer(() => resolve(undefined), HANDOVER_MS));
        return c;
      }
    } catch {
      outcome = { k: 'retry' };
    }
    // A refused app key cannot send anything: wait as for an unreachable server, so a fixed key
    // (or a restored tenant) lets the queue go out without a reload.
    throw outcome.k === 'retry' ? outcome : { k: 'retry' };
  }

  private save(c: Credential): Credential {
    try {
      this.env.storage.setItem(this.key, JSON.stringify(c));
    } catch {
      // Storage full: this page still sends with it.
    }
    return c;
  }
}
