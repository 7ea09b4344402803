// The demo's shoppers, sent through the platform's real front door: each brand's apps (web, iOS,
// Android) and each store's RFID reader gateway register themselves with the brand's app key
// (POST /api/register), then post their events as IoT Hub devices do (POST
// /devices/{id}/messages/events, one message or a batch, with iothub-app-channel and a
// messageId). Anything that fails is logged, kept and retried with the same messageId (stored
// once), so a slow or restarting server never loses the simulator's events nor stops it.
import { randomBytes, randomUUID } from 'node:crypto';
import { deviceResource, signSasToken } from '../auth/sas.js';
import type { Logger } from '../telemetry/logger.js';
import { JourneyPlanner, seededRandom, type Brand, type Channel, type PlannedEvent, type Random } from './shopper-journeys.js';

export interface SimulatedBrand {
  readonly brand: Brand;
  /** The brand's app key: what its apps and readers register with. */
  readonly appKey: string;
}

export interface SimulatorOptions {
  /** The server's base URL (http://127.0.0.1:8080). */
  readonly url: string;
  readonly brands: readonly SimulatedBrand[];
  /** Events per second, all brands together. */
  readonly rate: number;
  readonly logger: Logger;
  readonly random?: Random;
  /** Shoppers already in the shops at start (their journeys began up to this long ago). */
  readonly warmStartMs?: number;
}

export interface SimulatorStats {
  readonly devices: number;
  readonly planned: number;
  readonly sent: number;
  readonly failedRequests: number;
  readonly pending: number;
  readonly dropped: number;
}

/** A journey's events begin at most this long before its last one (the longest store visit). */
const WARM_START_MS = 6 * 60_000;
const TICK_MS = 100;
/** Apps buffer events and send them together; browsers and readers send as events happen. */
const FLUSH_MS: Readonly<Record<Channel, number>> = { web: 0, ios: 1_000, android: 1_000, sensor: 0 };
const APPS: Readonly<Record<Exclude<Channel, 'sensor'>, number>> = { web: 2, ios: 1, android: 1 };
/** What /api/register calls each kind of device. */
const KIND: Readonly<Record<Channel, string>> = { web: 'browser', ios: 'ios', android: 'android', sensor: 'sensor' };
const BATCH_MAX = 100;
const BATCH_TYPE = 'application/vnd.microsoft.iothub.json';
/** Events a device keeps while the server does not take them; the oldest go first beyond this. */
const MAX_PENDING_PER_DEVICE = 20_000;
const TOKEN_TTL_S = 3_600;
const REQUEST_TIMEOUT_MS = 10_000;
const MAX_BACKOFF_MS = 30_000;

interface Message { readonly id: string; readonly channel: Channel; readonly body: string }

interface SimDevice {
  readonly tenant: string;
  readonly channel: Channel;
  /** Renamed when the name turns out to be taken. */
  deviceId: string;
  readonly appKey: string;
  credentials?: { hostName: string; key: string; token: string; expiresAtS: number };
  readonly queue: Message[];
  inFlight: boolean;
  nextSendAt: number;
  failures: number;
}

export class ShopperSimulator {
  private readonly random: Random;
  private readonly planners = new Map<string, JourneyPlanner>();
  private readonly brandWeights: { tenant: string; cumulative: number }[] = [];
  private readonly devices: SimDevice[] = [];
  private readonly online = new Map<string, SimDevice[]>();
  private readonly stores = new Map<string, SimDevice>();
  /** Events planned but not yet due, earliest first (a binary heap). */
  private readonly due: PlannedEvent[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly meanEventsPerJourney: number;
  private timer: NodeJS.Timeout | undefined;
  private nextJourneyAt = 0;
  private lastTick = 0;
  private stopped = false;
  private readonly counts = { planned: 0, sent: 0, failedRequests: 0, dropped: 0 };
  private readonly aborts = new AbortController();

  constructor(private readonly options: SimulatorOptions) {
    if (!(options.rate >= 0)) throw new RangeError('the rate is a number of events per second, 0 or more');
    this.random = options.random ?? seededRandom(randomBytes(4).readUInt32LE());
    let total = 0;
    for (const { brand, appKey } of options.brands) {
      this.planners.set(brand.tenant, new JourneyPlanner(brand, this.random));
      // Brands with more fitting rooms (bigger stores) draw a larger share of the shoppers.
      total += 10 + brand.stores.reduce((s, st) => s + st.fittingRooms, 0);
      this.brandWeights.push({ tenant: brand.tenant, cumulative: total });
      const suffix = () => randomBytes(3).toString('hex');
      for (const [channel, count] of Object.entries(APPS) as [Exclude<Channel, 'sensor'>, number][]) {
        const pool: SimDevice[] = [];
        for (let i = 1; i <= count; i++) pool.push(this.device(brand.tenant, channel, `${brand.tenant}-${channel}-${i}-${suffix()}`, appKey));
        this.online.set(`${brand.tenant}/${channel}`, pool);
      }
      for (const store of brand.stores) {
        this.stores.set(`${brand.tenant}/${store.store}`, this.device(brand.tenant, 'sensor', `${store.store.toLowerCase()}-rfid-${suffix()}`, appKey));
      }
    }
    for (const w of this.brandWeights) w.cumulative /= total;
    this.meanEventsPerJourney = estimateEventsPerJourney(options.brands.map((b) => b.brand));
  }

  private device(tenant: string, channel: Channel, deviceId: string, appKey: string): SimDevice {
    const d: SimDevice = { tenant, channel, deviceId, appKey, queue: [], inFlight: false, nextSendAt: 0, failures: 0 };
    this.devices.push(d);
    return d;
  }

  /** Journeys started per millisecond for the configured rate. */
  private get journeysPerMs(): number {
    return this.options.rate / this.meanEventsPerJourney / 1_000;
  }

  /** Starts planning and sending; devices register on their first send. Returns at once. */
  start(): void {
    if (this.timer || this.stopped || this.options.rate === 0) return;
    const now = Date.now();
    // The shops are open already: shoppers who came in earlier are mid-journey.
    const warm = this.options.warmStartMs ?? WARM_START_MS;
    for (let t = now - warm + this.interArrival(); t < now; t += this.interArrival()) this.planJourney(t, now);
    this.nextJourneyAt = now + this.interArrival();
    this.lastTick = now;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.options.logger.info('shopper simulator started', {
      url: this.options.url, rate: this.options.rate, brands: [...this.planners.keys()], devices: this.devices.length,
    });
  }

  stats(): SimulatorStats {
    return { devices: this.devices.length, ...this.counts, pending: this.devices.reduce((s, d) => s + d.queue.length, 0) + this.due.length };
  }

  /** Stops planning and sending; requests under way finish (or are cut off after a few seconds). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    const cutOff = setTimeout(() => this.aborts.abort(), 3_000);
    await Promise.allSettled([...this.inFlight]);
    clearTimeout(cutOff);
    if (this.timer) this.options.logger.info('shopper simulator stopped', { ...this.stats() });
  }

  private interArrival(): number {
    return -Math.log(1 - this.random()) / this.journeysPerMs;
  }

  private planJourney(startMs: number, notBefore: number): void {
    const u = this.random();
    const tenant = (this.brandWeights.find((w) => u < w.cumulative) ?? this.brandWeights.at(-1)!).tenant;
    for (const e of this.planners.get(tenant)!.plan(startMs)) {
      if (e.atMs < notBefore) continue;
      this.counts.planned++;
      heapPush(this.due, e);
    }
  }

  private tick(): void {
    try {
      const now = Date.now();
      // A stalled event loop (a laptop waking up) does not make a burst of journeys.
      if (now - this.lastTick > 10_000) this.nextJourneyAt = now;
      this.lastTick = now;
      while (this.nextJourneyAt <= now) {
        this.planJourney(this.nextJourneyAt, 0);
        this.nextJourneyAt += this.interArrival();
      }
      while (this.due.length > 0 && this.due[0]!.atMs <= now) this.enqueue(heapPop(this.due)!);
      for (const d of this.devices) {
        if (!d.inFlight && d.queue.length > 0 && d.nextSendAt <= now) this.send(d);
      }
    } catch (err) {
      // A defect here must not take the server down with it.
      this.options.logger.error('shopper simulator tick failed', { err });
    }
  }

  private enqueue(e: PlannedEvent): void {
    const s = e.sender;
    const d = s.channel === 'sensor'
      ? this.stores.get(`${e.tenant}/${s.store}`)
      : pickByShopper(this.online.get(`${e.tenant}/${s.channel}`), s.shopper);
    if (!d) return;
    if (d.queue.length === 0 && d.failures === 0) d.nextSendAt = Math.max(d.nextSendAt, e.atMs + FLUSH_MS[d.channel]);
    d.queue.push({ id: randomUUID(), channel: s.channel, body: JSON.stringify(e.body) });
    if (d.queue.length > MAX_PENDING_PER_DEVICE) {
      d.queue.shift();
      if (this.counts.dropped++ % 1_000 === 0) this.options.logger.warn('shopper simulator dropped its oldest events: the server has not taken them for a while', { device: d.deviceId, dropped: this.counts.dropped });
    }
  }

  private send(d: SimDevice): void {
    d.inFlight = true;
    const batch = d.queue.slice(0, BATCH_MAX);
    const p = this.deliver(d, batch).then((outcome) => {
      if (outcome === 'sent' || outcome === 'rejected') {
        d.queue.splice(0, batch.length);
        if (outcome === 'sent') this.counts.sent += batch.length;
        if (d.failures > 0) this.options.logger.info('shopper simulator delivering again', { device: d.deviceId, failedRequests: d.failures });
        d.failures = 0;
        d.nextSendAt = d.queue.length > 0 ? Date.now() : 0;
      } else {
        d.failures++;
        this.counts.failedRequests++;
        const backoff = typeof outcome === 'number' ? outcome : Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(d.failures, 8));
        d.nextSendAt = Date.now() + backoff * (0.8 + 0.4 * this.random());
      }
    }).finally(() => {
      d.inFlight = false;
      this.inFlight.delete(p);
    });
    this.inFlight.add(p);
  }

  /**
   * Posts `batch`: 'sent', 'rejected' (the server refuses these events for good: dropped, logged),
   * 'retry', or how many milliseconds to wait first (429/503 with Retry-After).
   */
  private async deliver(d: SimDevice, batch: readonly Message[]): Promise<'sent' | 'rejected' | 'retry' | number> {
    try {
      const credentials = await this.credentials(d);
      if (typeof credentials !== 'object') return credentials;
      const single = batch.length === 1;
      const headers: Record<string, string> = { authorization: credentials.token };
      let body: string;
      if (single) {
        const m = batch[0]!;
        Object.assign(headers, {
          'content-type': 'application/json',
          'iothub-app-channel': m.channel,
          'iothub-messageid': m.id,
          'iothub-contenttype': 'application/json',
          'iothub-contentencoding': 'utf-8',
        });
        body = m.body;
      } else {
        headers['content-type'] = BATCH_TYPE;
        body = JSON.stringify(batch.map((m) => ({
          body: Buffer.from(m.body).toString('base64'),
          properties: { 'iothub-app-channel': m.channel, 'iothub-messageid': m.id, 'iothub-contenttype': 'application/json', 'iothub-contentencoding': 'utf-8' },
        })));
      }
      const res = await this.fetch(`devices/${encodeURIComponent(d.deviceId)}/messages/events?api-version=2021-04-12`, { method: 'POST', headers, body });
      if (res.status === 204) return 'sent';
      const text = await res.text().catch(() => '');
      if (res.status === 401 || res.status === 404) {
        // The device was deleted or its key changed (another data directory): register anew.
        delete d.credentials;
        this.failure(d, `the server refused the device (${res.status})`, text);
        return 'retry';
      }
      if (res.status === 400 || res.status === 413) {
        this.options.logger.error('shopper simulator events refused', { device: d.deviceId, status: res.status, events: batch.length, answer: text.slice(0, 300) });
        return 'rejected';
      }
      this.failure(d, `the server answered ${res.status}`, text);
      return retryAfter(res) ?? 'retry';
    } catch (err) {
      this.failure(d, 'the server did not answer', err instanceof Error ? err.message : String(err));
      return 'retry';
    }
  }

  /** The device's token, registering the device first when it has none. */
  private async credentials(d: SimDevice): Promise<NonNullable<SimDevice['credentials']> | 'retry' | number> {
    const nowS = Math.floor(Date.now() / 1000);
    if (d.credentials && d.credentials.expiresAtS - nowS > 300) return d.credentials;
    if (!d.credentials) {
      const res = await this.fetch('api/register', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ appKey: d.appKey, deviceId: d.deviceId, kind: KIND[d.channel] }),
      });
      const text = await res.text();
      if (res.status === 409) {
        // Taken (a registration whose answer was lost): carry on under a new name.
        d.deviceId = `${d.deviceId.replace(/-[0-9a-f]{6}$/, '')}-${randomBytes(3).toString('hex')}`;
        return 'retry';
      }
      if (res.status !== 201) {
        this.failure(d, `registration answered ${res.status}`, text);
        return retryAfter(res) ?? 'retry';
      }
      const registered = JSON.parse(text) as { deviceId: string; primaryKey: string; hostName: string };
      d.credentials = { hostName: registered.hostName, key: registered.primaryKey, token: '', expiresAtS: 0 };
      this.options.logger.debug('shopper simulator device registered', { device: d.deviceId, tenant: d.tenant, kind: KIND[d.channel] });
    }
    const c = d.credentials!;
    c.expiresAtS = nowS + TOKEN_TTL_S;
    c.token = signSasToken({ resource: deviceResource(c.hostName, d.deviceId), key: c.key, expiry: c.expiresAtS });
    return c;
  }

  private fetch(path: string, init: RequestInit): Promise<Response> {
    const signal = AbortSignal.any([this.aborts.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]);
    return fetch(new URL(path, this.options.url.endsWith('/') ? this.options.url : `${this.options.url}/`), { ...init, signal });
  }

  /** Logs the first failure of a device's run of them, then every tenth. */
  private failure(d: SimDevice, what: string, detail: string): void {
    if (this.stopped || d.failures % 10 !== 0) return;
    this.options.logger.warn(`shopper simulator: ${what}; retrying`, { device: d.deviceId, failures: d.failures + 1, detail: detail.slice(0, 300) });
  }
}

function pickByShopper(pool: readonly SimDevice[] | undefined, shopper: string): SimDevice | undefined {
  if (!pool || pool.length === 0) return undefined;
  let h = 0;
  for (let i = 0; i < shopper.length; i++) h = (h * 31 + shopper.charCodeAt(i)) >>> 0;
  return pool[h % pool.length];
}

function retryAfter(res: Response): number | undefined {
  const seconds = Number(res.headers.get('retry-after'));
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1_000, MAX_BACKOFF_MS) : undefined;
}

/** Events per journey, on average, from a sample of journeys (the rate sets journeys per second from it). */
export function estimateEventsPerJourney(brands: readonly Brand[], journeys = 2_000): number {
  const random = seededRandom(1);
  let events = 0, planned = 0;
  for (const brand of brands) {
    const planner = new JourneyPlanner(brand, random);
    for (let i = 0; i < journeys / brands.length; i++, planned++) events += planner.plan(0).length;
  }
  return planned === 0 ? 1 : events / planned;
}

function heapPush(heap: PlannedEvent[], e: PlannedEvent): void {
  heap.push(e);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]!.atMs <= heap[i]!.atMs) break;
    [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
    i = parent;
  }
}

function heapPop(heap: PlannedEvent[]): PlannedEvent | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length > 0 && last) {
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < heap.length && heap[l]!.atMs < heap[m]!.atMs) m = l;
      if (r < heap.length && heap[r]!.atMs < heap[m]!.atMs) m = r;
      if (m === i) break;
      [heap[m], heap[i]] = [heap[i]!, heap[m]!];
      i = m;
    }
  }
  return top;
}
