// `npm run bench`: every benchmark in turn, each printing its machine, command, baseline and ratio.
//   npm run bench [-- ingest query feed]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const suites: Record<string, string[]> = {
  ingest: ['bench/ingest.ts'],
  feed: ['bench/feed.ts'],
  query: ['bench/query.ts'],
};
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(suites);
const root = fileURLToPath(new URL('..', import.meta.url));
let failed = false;
for (const name of wanted) {
  const files = suites[name];
  if (!files) {
    console.error(`unknown benchmark '${name}'; choose from ${Object.keys(suites).join(', ')}`);
    process.exit(64);
  }
  for (const file of files.filter((f) => existsSync(`${root}/${f}`))) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) failed = true;
    console.log();
  }
}
process.exit(failed ? 1 : 0);
