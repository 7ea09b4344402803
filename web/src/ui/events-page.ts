// Live events: the tenant's incoming events as they arrive — time, device, channel, event name,
// body — newest on top, at most 500. Filters go to the server (and into the URL); pause holds the
// table still while events keep coming (counted, shown on resume). The stream gives only events
// from now on, so after a reconnect the recent events are loaded again to fill the gap (each
// shown once).
import { apiUrl } from '../lib/api-url.js';
import { bodyPreview, EventList, MAX_EVENTS } from '../lib/event-list.js';
import { formatClock } from '../lib/time-format.js';
import { parseLiveEvent, parseLiveEvents, WireError, type LiveEvent } from '../lib/wire.js';
import { ApiError, getJson, KeyRefusedError, setPageParam } from './api-client.js';
import { h } from './dom.js';
import { keyNeededPage, shell } from './page-shell.js';

/** Events loaded when the page opens, filters change, or the stream reconnects. */
const RECENT = 100;
const RETRY_MS = { first: 1_000, max: 30_000 } as const;
const FILTERS = ['device', 'channel', 'event'] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

const idOf = (e: LiveEvent): string => `${e.partition}/${e.sequenceNumber}`;

export function eventsPage(root: HTMLElement, key: string | null): void {
  if (key === null) return keyNeededPage(root, 'page', null, null);
  document.title = 'Live events · Omnistream';
  const { main } = shell(root, key, 'events');
  const params = new URLSearchParams(location.search);
  let filters: Filters = { device: params.get('device') ?? '', channel: params.get('channel') ?? '', event: params.get('event') ?? '' };

  const list = new EventList();
  const pending = new EventList();
  let paused = false;
  let skipped = 0;
  let es: EventSource | null = null;
  let streamDown = false;
  let problem: string | null = null;
  let retryMs: number = RETRY_MS.first;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let generation = 0;
  let stopped = false;

  const inputs = Object.fromEntries(FILTERS.map((f) => [f, h('input', {
    name: f, value: filters[f], placeholder: f === 'device' ? 'device id' : f === 'channel' ? 'web, ios, android, sensor…' : 'view, add_to_cart…',
    autocomplete: 'off', spellcheck: 'false',
  })])) as Record<(typeof FILTERS)[number], HTMLInputElement>;
  const form = h('form', { class: 'filters', onsubmit: (e) => {
    e.preventDefault();
    filters = { device: inputs.device.value.trim(), channel: inputs.channel.value.trim(), event: inputs.event.value.trim() };
    for (const f of FILTERS) setPageParam(f, filters[f]);
    restart();
  } },
  FILTERS.map((f) => h('label', null, h('span', null, f === 'event' ? 'event name' : f), inputs[f])),
  h('button', { type: 'submit' }, 'Apply'),
  h('button', { type: 'button', onclick: () => {
    for (const f of FILTERS) inputs[f].value = '';
    form.requestSubmit();
  } }, 'Clear'));

  const status = h('span', { class: 'events-status', role: 'status', 'aria-live': 'polite' });
  const pauseButton = h('button', { type: 'button', onclick: () => {
    paused = !paused;
    if (!paused) {
      list.add(pending.all);
      pending.clear();
    }
    render();
  } });
  const tbody = h('tbody');
  const rows = new Map<string, HTMLTableRowElement>();
  main.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', null, 'Live events'),
      h('p', { class: 'description' }, `Incoming events of this key's tenant as they arrive, newest first (the latest ${MAX_EVENTS} are kept).`)),
    form,
    h('div', { class: 'toolbar' }, pauseButton, status),
    h('div', { class: 'table-wrap events' }, h('table', null,
      h('thead', null, h('tr', null, ['Time', 'Device', 'Tenant', 'Channel', 'Event', 'Body'].map((c) => h('th', { scope: 'col' }, c)))),
      tbody)),
  );

  function rowFor(e: LiveEvent): HTMLTableRowElement {
    let tr = rows.get(idOf(e));
    if (!tr) {
      const full = `${typeof e.body === 'string' ? e.body : JSON.stringify(e.body, null, 2)}\n\nproperties ${JSON.stringify(e.properties, null, 2)}\npartition ${e.partition}, sequence number ${e.sequenceNumber}, enqueued ${e.enqueuedTimeUtc}`;
      tr = h('tr', null,
        h('td', { class: 'time', title: e.enqueuedTimeUtc }, formatClock(e.enqueuedMs, Date.now())),
        h('td', null, e.deviceId),
        h('td', null, e.tenant),
        h('td', null, e.channel ?? '—'),
        h('td', null, e.event ?? '—'),
        h('td', { class: 'body' }, h('details', null, h('summary', null, bodyPreview(e.body)), h('pre', null, full))));
      rows.set(idOf(e), tr);
    }
    return tr;
  }

  let frame: number | null = null;
  function render(): void {
    if (frame !== null) return;
    frame = requestAnimationFrame(() => {
      frame = null;
      // Rows kept are moved, not rebuilt: an opened body stays open as new events come in above it.
      const shown = list.all.map(rowFor);
      const keep = new Set(list.all.map(idOf));
      for (const id of rows.keys()) if (!keep.has(id)) rows.delete(id);
      tbody.replaceChildren(...shown);
      if (shown.length === 0) tbody.append(h('tr', null, h('td', { colspan: 6, class: 'empty' }, emptyText())));
      pauseButton.textContent = paused ? 'Resume' : 'Pause';
      status.textContent = statusText();
      status.dataset.state = problem !== null || streamDown ? 'problem' : paused ? 'paused' : 'live';
    });
  }

  const filtered = (): boolean => FILTERS.some((f) => filters[f] !== '');
  function emptyText(): string {
    if (problem !== null) return problem;
    return filtered() ? 'No events matching these filters yet. They appear here as they arrive.' : 'No events yet. They appear here as devices send them.';
  }
  function statusText(): string {
    const parts: string[] = [];
    if (problem !== null) parts.push(problem);
    else if (streamDown) parts.push('Live updates lost — reconnecting…');
    else if (paused) parts.push(`Paused — ${pending.all.length === MAX_EVENTS ? `${MAX_EVENTS}+` : pending.all.length} new event${pending.all.length === 1 ? '' : 's'} waiting`);
    else parts.push(es?.readyState === EventSource.OPEN ? 'Live' : 'Connecting…');
    if (skipped > 0) parts.push(`${skipped} events skipped: the tail could not keep up`);
    parts.push(`${list.all.length} shown`);
    return parts.join(' · ');
  }

  function take(events: readonly LiveEvent[]): void {
    (paused ? pending : list).add(events);
    render();
  }

  async function loadRecent(gen: number): Promise<void> {
    try {
      const { events } = parseLiveEvents(await getJson(apiUrl('/api/events', key!, { limit: RECENT, ...filters })));
      if (gen !== generation) return;
      problem = null;
      take(events);
    } catch (e) {
      if (gen !== generation || stopped) return;
      if (e instanceof KeyRefusedError) {
        stop();
        return keyNeededPage(root, 'page', key, e);
      }
      problem = e instanceof ApiError && e.status >= 400 && e.status < 500
        ? `The server refused these filters: ${e.message}`
        : e instanceof WireError ? `The server's answer is not a list of events: ${e.message}` : `${e instanceof Error ? e.message : String(e)}. Retrying…`;
      render();
    }
  }

  function openStream(gen: number): void {
    const source = new EventSource(apiUrl('/api/events/stream', key!, filters));
    es = source;
    source.addEventListener('open', () => {
      if (gen !== generation) return;
      retryMs = RETRY_MS.first;
      if (streamDown) void loadRecent(gen);
      streamDown = false;
      render();
    });
    source.addEventListener('message', (m) => {
      try {
        const e = parseLiveEvent(JSON.parse((m as MessageEvent<string>).data));
        if (e) take([e]);
      } catch {
        // A malformed event is skipped; the next one is read as usual.
      }
    });
    source.addEventListener('skipped', (m) => {
      try {
        const { count } = JSON.parse((m as MessageEvent<string>).data) as { count?: unknown };
        if (typeof count === 'number') skipped += count;
        render();
      } catch {
        // Only a count: nothing lost by skipping it.
      }
    });
    source.addEventListener('error', () => {
      if (gen !== generation) return;
      streamDown = true;
      if (source.readyState === EventSource.CLOSED) {
        // Refused with an error status: EventSource gives up, so the load says why and the stream is tried again.
        source.close();
        es = null;
        void loadRecent(gen).then(() => {
          if (gen !== generation || stopped) return;
          retryTimer = setTimeout(() => openStream(gen), retryMs);
          retryMs = Math.min(RETRY_MS.max, retryMs * 2);
        });
      }
      render();
    });
  }

  function stop(): void {
    stopped = true;
    generation++;
    es?.close();
    es = null;
    if (retryTimer !== null) clearTimeout(retryTimer);
  }

  function restart(): void {
    generation++;
    es?.close();
    if (retryTimer !== null) clearTimeout(retryTimer);
    list.clear();
    pending.clear();
    paused = false;
    skipped = 0;
    streamDown = false;
    problem = null;
    retryMs = RETRY_MS.first;
    const gen = generation;
    openStream(gen);
    void loadRecent(gen);
    render();
  }

  window.addEventListener('pagehide', () => {
    generation++;
    es?.close();
    es = null;
  });
  window.addEventListener('pageshow', (e) => {
    if (e.persisted && !stopped) restart();
  });
  restart();
}
