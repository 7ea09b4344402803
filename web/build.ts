// Builds the web app into dist/web: index.html, and under assets/ the bundle and its stylesheet
// with a content hash in their names (the server caches those for good), their source maps, and
// the licences of the packages bundled. Nothing is fetched at run time: the machine may be offline.
// The previous build's assets are kept (a server started before this build still serves the
// index.html that links them) and older ones removed.
//
//   npx tsx web/build.ts [OUT_DIR]     (npm run build runs it after tsc)
import { build, type Metafile } from 'esbuild';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRY = join(ROOT, 'web', 'src', 'main.ts');
export const DEFAULT_OUT_DIR = join(ROOT, 'dist', 'web');
/** Browsers of the last few years: EventSource, ResizeObserver, optional chaining, private fields. */
const TARGET = ['es2022', 'chrome105', 'edge105', 'firefox110', 'safari16'];

export interface BuiltFile {
  /** The path under the output directory, e.g. `assets/app-3KX7Q2ZD.js`. */
  readonly path: string;
  readonly bytes: number;
  readonly gzipBytes: number;
}

export interface WebBuild {
  readonly outDir: string;
  readonly html: string;
  readonly js: BuiltFile;
  readonly css: BuiltFile;
  /** The packages in the bundle (their licences are in assets/third-party-licenses.txt). */
  readonly packages: readonly string[];
}

function indexHtml(js: string, css: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Omnistream</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/${css}">
<script type="module" src="/assets/${js}"></script>
</head>
<body>
<div id="app"><div style="margin:2rem;font:16px system-ui,sans-serif;color:#5d6673"><p>Loading…</p>
<p style="opacity:0;animation:omnistream-late 0s 8s forwards">Still loading? Reload the page. If this stays, the server's web app may be from another build: restart the server after <code>npm run build</code>.</p>
<style>@keyframes omnistream-late{to{opacity:1}}</style></div></div>
<noscript><p style="margin:2rem;font:16px system-ui,sans-serif">This page needs JavaScript: the dashboards are drawn in the browser.</p></noscript>
</body>
</html>
`;
}

/** The npm packages among the bundle's inputs, by name, with their folder (`node_modules/echarts/node_modules/tslib/…` → tslib). */
function packagesOf(meta: Metafile): Map<string, string> {
  const found = new Map<string, string>();
  for (const input of Object.keys(meta.inputs)) {
    const m = /^(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//.exec(input);
    if (m) found.set(m[2]!, join(ROOT, m[1]!));
  }
  return new Map([...found].sort((a, b) => a[0].localeCompare(b[0])));
}

async function licences(packages: ReadonlyMap<string, string>): Promise<string> {
  const parts: string[] = [];
  for (const [name, dir] of packages) {
    for (const file of ['LICENSE', 'LICENSE.txt', 'LICENSE.md', 'NOTICE']) {
      if (existsSync(join(dir, file))) parts.push(`==== ${name}: ${file} ====\n\n${(await readFile(join(dir, file), 'utf8')).trim()}\n`);
    }
  }
  return parts.join('\n');
}

async function sizeOf(outDir: string, path: string): Promise<BuiltFile> {
  const body = await readFile(join(outDir, path));
  return { path, bytes: (await stat(join(outDir, path))).size, gzipBytes: gzipSync(body, { level: 9 }).length };
}

/** The assets the current index.html links (with their source maps), or none. */
async function linkedAssets(outDir: string): Promise<Set<string>> {
  let html: string;
  try {
    html = await readFile(join(outDir, 'index.html'), 'utf8');
  } catch {
    return new Set();
  }
  const names = [...html.matchAll(/"\/assets\/([^"]+)"/g)].map((m) => m[1]!);
  return new Set(names.flatMap((n) => [n, `${n}.map`]));
}

export async function buildWeb(outDir: string = DEFAULT_OUT_DIR): Promise<WebBuild> {
  const assets = join(outDir, 'assets');
  // Older builds' assets would pile up under their old hashes; the last build's stay one more build.
  const previous = await linkedAssets(outDir);
  await mkdir(assets, { recursive: true });
  for (const name of await readdir(assets)) if (!previous.has(name)) await rm(join(assets, name), { force: true });
  const result = await build({
    entryPoints: { app: ENTRY },
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    outdir: assets,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: TARGET,
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    absWorkingDir: ROOT,
  });
  const outputs = Object.entries(result.metafile.outputs);
  const entry = outputs.find(([, o]) => o.entryPoint !== undefined && resolve(ROOT, o.entryPoint) === ENTRY);
  if (!entry || !entry[1].cssBundle) throw new Error(`esbuild gave no bundle with a stylesheet for ${relative(ROOT, ENTRY)}`);
  const js = basename(entry[0]), css = basename(entry[1].cssBundle);
  const html = indexHtml(js, css);
  await writeFile(join(outDir, 'index.html'), html);
  const packages = packagesOf(result.metafile);
  await writeFile(join(assets, 'third-party-licenses.txt'), await licences(packages));
  return { outDir, html, js: await sizeOf(outDir, `assets/${js}`), css: await sizeOf(outDir, `assets/${css}`), packages: [...packages.keys()] };
}

const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const out = process.argv[2] ? resolve(process.argv[2]) : DEFAULT_OUT_DIR;
  const built = await buildWeb(out);
  for (const f of [built.js, built.css]) process.stdout.write(`web: ${relative(ROOT, join(out, f.path))}  ${kib(f.bytes)} (${kib(f.gzipBytes)} gzipped)\n`);
}
