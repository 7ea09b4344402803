// `npm run bench`: every benchmark in turn, each printing its machine, command, baseline and ratio.
// A benchmark that fails (for the query benchmark: an answer that differs from its hand-written
// loop's; for the jobs benchmark: a job's rows that differ from `query run`'s; for the dashboard
// benchmark: console errors, or tiles not live) makes the whole run exit with 1, so a wrong but fast
// engine cannot pass unnoticed.
//   npm run bench [-- ingest scale-out query feed jobs dashboard]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Each entry is a file and the flags it runs with here (run alone, a benchmark may default smaller).
const suites: Record<string, Array<[file: string, ...flags: string[]]>> = {
  ingest: [['bench/ingest.ts']],
  'scale-out': [['bench/scale-out.ts']],
  mqtt: [['bench/mqtt.ts'], ['bench/bridge.ts']],
  feed: [['bench/feed.ts']],
  query: [['bench/query.ts'], ['bench/match-recognize.ts'], ['bench/functions.ts']],
  jobs: [['bench/jobs.ts', '--events', '1000000', '--runs', '5', '--windows', '60']],
  dashboard: [['bench/dashboard.ts']],
  overload: [['bench/overload.ts']],
  recs: [['bench/recs.ts']],
};
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(suites);
const root = fileURLToPath(new URL('..', import.meta.url));
const failed: string[] = [];
for (const name of wanted) {
  const files = suites[name];
  if (!files) {
    console.error(`unknown benchmark '${name}'; choose from ${Object.keys(suites).join(', ')}`);
    process.exit(64);
  }
  for (const [file, ...args] of files.filter(([f]) => existsSync(`${root}/${f}`))) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', file, ...args], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) failed.push(file);
    console.log();
  }
}
if (failed.length > 0) console.error(`failed: ${failed.join(', ')}`);
process.exit(failed.length > 0 ? 1 : 0);
