// The browser's side of the feeds (output-feed.ts, page-feeds.ts): fetch through the API client,
// EventSource, and the window's timers and clock.
import { getJson } from './api-client.js';
import type { FeedEnvironment } from './output-feed.js';

export const browserFeedEnvironment: FeedEnvironment = {
  getJson,
  openStream: (url) => new EventSource(url),
  later: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
  now: () => Date.now(),
};
