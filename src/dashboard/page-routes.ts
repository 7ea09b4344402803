// The web pages: the landing page, dashboards and live events are one page (dist/web/index.html,
// built by `npm run build`) that routes on its path; its bundled assets; and the docs as text. The
// pages hold no data: everything they show comes from the APIs, with the viewer key of the URL.
import { readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HttpPlugin, RequestContext, Route } from '../http/route.js';

const FROM_SOURCE = import.meta.url.endsWith('.ts');
/** Where the built web app is: dist/web, beside the compiled server, or under the repository from source. */
export const WEB_DIR = fileURLToPath(new URL(FROM_SOURCE ? '../../dist/web/' : '../web/', import.meta.url));
// src/dashboard and dist/dashboard both sit two levels below the repository's docs/.
const DOCS_DIR = fileURLToPath(new URL('../../docs/', import.meta.url));

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};
/** Asset names the build gives: a content hash makes them safe to cache for good. */
const HASHED = /-[A-Za-z0-9]{8,}\.[a-z0-9]+$/;
const ASSET = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const DOC = /^[a-z][a-z0-9-]{0,63}$/;

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Omnistream</title>
<body style="font:16px system-ui;margin:3rem;max-width:40rem">
<h1>The web app is not built</h1>
<p>The server runs, but its pages were not built. Run <code>npm run build</code> (<code>npm start</code> does it), then reload.</p>
<p>The APIs work meanwhile: see <code>docs/http-api.md</code>.</p></body>`;

function page(res: RequestContext['res'], status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' });
  res.end(html);
}

function notFound(res: RequestContext['res'], what: string): void {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${what} not found\n`);
}

export function pageRoutes(webDir: string = WEB_DIR): HttpPlugin {
  let shell: { html: string; mtimeMs: number } | undefined;
  // Read again when a rebuild replaced it: the page must link the assets that exist now.
  const indexHtml = async (): Promise<string | null> => {
    const path = join(webDir, 'index.html');
    try {
      const { mtimeMs } = await stat(path);
      if (shell?.mtimeMs !== mtimeMs) shell = { html: await readFile(path, 'utf8'), mtimeMs };
      return shell.html;
    } catch {
      return null;
    }
  };
  const app: Route['handle'] = async (ctx) => {
    const html = await indexHtml();
    page(ctx.res, html === null ? 503 : 200, html ?? NOT_BUILT);
  };
  const route = (path: string, handle: Route['handle']): Route => ({ method: 'GET', path, audience: 'admin', errorStyle: 'omnistream', name: path, handle });
  return {
    routes: [
      route('/', app),
      route('/dashboards/:name', app),
      route('/events', app),
      route('/assets/:file', async (ctx) => {
        const file = ctx.params.file!;
        if (!ASSET.test(file) || file.includes('..')) return notFound(ctx.res, 'asset');
        let body: Buffer;
        try {
          body = await readFile(join(webDir, 'assets', file));
        } catch {
          return notFound(ctx.res, 'asset');
        }
        ctx.res.writeHead(200, {
          'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
          'cache-control': HASHED.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache',
          'x-content-type-options': 'nosniff',
        });
        ctx.res.end(body);
      }),
      route('/docs/:name', async (ctx) => {
        const name = ctx.params.name!.replace(/\.md$/, '');
        if (!DOC.test(name)) return notFound(ctx.res, 'document');
        let text: string;
        try {
          text = await readFile(`${DOCS_DIR}${name}.md`, 'utf8');
        } catch {
          return notFound(ctx.res, 'document');
        }
        ctx.res.writeHead(200, { 'content-type': 'text/markdown; charset=utf-8', 'x-content-type-options': 'nosniff' });
        ctx.res.end(text);
      }),
    ],
  };
}
