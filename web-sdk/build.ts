// Builds the browser SDK into dist/sdk: omnistream.mjs (ESM) and omnistream.js (a classic script
// that sets `window.Omnistream`), which the server serves at /sdk/. Prints each file's gzipped
// size; the budget is 5 KB (test/web-sdk/build.test.ts checks it).
//
//   npx tsx web-sdk/build.ts [OUT_DIR]     (npm run build runs it)
import { build } from 'esbuild';
import { realpathSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRY = join(ROOT, 'web-sdk', 'src', 'index.ts');
export const DEFAULT_SDK_DIR = join(ROOT, 'dist', 'sdk');
/** The gzipped budget of each file: one script tag must cost a storefront next to nothing. */
export const SDK_GZIP_BUDGET = 5 * 1024;
/** Browsers with AbortSignal.timeout, Web Locks and private fields; older ones are not a storefront's shoppers. */
const TARGET = ['es2020', 'chrome103', 'edge103', 'firefox100', 'safari16'];

export interface SdkFile {
  readonly path: string;
  readonly bytes: number;
  readonly gzipBytes: number;
}

async function bundle(format: 'esm' | 'iife'): Promise<string> {
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    format,
    ...(format === 'iife' ? { globalName: 'Omnistream' } : {}),
    platform: 'browser',
    target: TARGET,
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    absWorkingDir: ROOT,
  });
  return result.outputFiles[0]!.text;
}

export async function buildSdk(outDir: string = DEFAULT_SDK_DIR): Promise<{ js: SdkFile; mjs: SdkFile }> {
  await mkdir(outDir, { recursive: true });
  const out = async (name: string, text: string): Promise<SdkFile> => {
    const path = join(outDir, name);
    // Renamed into place: a server serving the old file never reads half of the new one.
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, text);
    await rename(tmp, path);
    const body = Buffer.from(text);
    return { path, bytes: body.length, gzipBytes: gzipSync(body, { level: 9 }).length };
  };
  const [iife, esm] = await Promise.all([bundle('iife'), bundle('esm')]);
  return { js: await out('omnistream.js', iife), mjs: await out('omnistream.mjs', esm) };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const built = await buildSdk(process.argv[2] ? resolve(process.argv[2]) : DEFAULT_SDK_DIR);
  for (const f of [built.js, built.mjs]) {
    process.stdout.write(`sdk: ${relative(ROOT, f.path)}  ${f.bytes} bytes (${f.gzipBytes} gzipped, budget ${SDK_GZIP_BUDGET})\n`);
    if (f.gzipBytes > SDK_GZIP_BUDGET) process.exitCode = 1;
  }
}
