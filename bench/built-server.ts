// The server the benchmarks measure is the build in dist/, as production runs it: the loader tsx
// adds to every module load and the JavaScript it emits are not what users run.
// `npm run bench` builds first; run alone, a benchmark says when there is no build or it is stale.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** The newest modification time of a .ts file under `dir`, in ms. */
function newestSource(dir: string): { file: string; ms: number } {
  let newest = { file: '', ms: 0 };
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const found = entry.isDirectory() ? newestSource(path) : entry.name.endsWith('.ts') ? { file: path, ms: statSync(path).mtimeMs } : newest;
    if (found.ms > newest.ms) newest = found;
  }
  return newest;
}

/** The built command line (`dist/cli.js`); exits when there is none, and warns when src/ changed after the build. */
export function builtCli(benchmark: string): string {
  if (!existsSync(CLI)) {
    console.error(`${benchmark} measures the built server: run \`npm run build\` first (npm run bench does)`);
    process.exit(1);
  }
  const newest = newestSource(SRC);
  if (newest.ms > statSync(CLI).mtimeMs) console.error(`warning: ${newest.file} changed after the build in dist/; run \`npm run build\` to measure it`);
  return CLI;
}
