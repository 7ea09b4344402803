// The browser SDK (web-sdk/, built by `npm run build` into dist/sdk): /sdk/omnistream.js for a
// classic <script> tag, /sdk/omnistream.mjs for `import`, on any page of any origin.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { HttpPlugin, RequestContext, Route } from '../http/route.js';

const FROM_SOURCE = import.meta.url.endsWith('.ts');
/** dist/sdk: beside the compiled server, or under the repository when run from source. */
export const SDK_DIR = fileURLToPath(new URL(FROM_SOURCE ? '../../dist/sdk/' : '../sdk/', import.meta.url));
export const SDK_FILES = ['omnistream.js', 'omnistream.mjs'] as const;

/**
 * The URL stays the same from one version to the next (pages paste it once), so it cannot be
 * cached for good: five minutes, then a revalidation the ETag answers with a 304.
 */
const CACHE_CONTROL = 'public, max-age=300';

interface Loaded {
  readonly mtimeMs: number;
  readonly body: Buffer;
  readonly gzip: Buffer;
  readonly etag: string;
}

export function sdkRoutes(dir: string = SDK_DIR): HttpPlugin {
  const cache = new Map<string, Loaded>();
  // Read again when a rebuild replaced the file; gzipped once per version, not per request.
  const load = async (name: string): Promise<Loaded | undefined> => {
    const path = join(dir, name);
    try {
      const { mtimeMs } = await stat(path);
      const hit = cache.get(name);
      if (hit?.mtimeMs === mtimeMs) return hit;
      const body = await readFile(path);
      const loaded = { mtimeMs, body, gzip: gzipSync(body, { level: 9 }), etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
      cache.set(name, loaded);
      return loaded;
    } catch {
      return undefined;
    }
  };
  const serve = (name: string): Route['handle'] => async (ctx: RequestContext) => {
    const file = await load(name);
    const { req, res } = ctx;
    if (!file) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end('The browser SDK is not built: run npm run build (npm start does it), then reload.\n');
      return;
    }
    const headers: Record<string, string> = {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': CACHE_CONTROL,
      etag: file.etag,
      // A module script from another origin is fetched with CORS; the file holds nothing private,
      // so any page may load it, whatever cors.deviceOrigins allows to post events.
      'access-control-allow-origin': '*',
      // Pages that isolate themselves (Cross-Origin-Embedder-Policy) may still embed it.
      'cross-origin-resource-policy': 'cross-origin',
      'x-content-type-options': 'nosniff',
      vary: 'Accept-Encoding',
    };
    if (req.headers['if-none-match']?.split(',').some((t) => t.trim().replace(/^W\//, '') === file.etag)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    res.writeHead(200, { ...headers, ...(gzip ? { 'content-encoding': 'gzip' } : {}), 'content-length': String((gzip ? file.gzip : file.body).length) });
    res.end(gzip ? file.gzip : file.body);
  };
  return {
    routes: SDK_FILES.map((name) => ({ method: 'GET', path: `/sdk/${name}`, audience: 'device', errorStyle: 'omnistream', name: `/sdk/${name}`, handle: serve(name) })),
  };
}
