#!/usr/bin/env node
// The command line: one table of commands, each a module under src/cli/ that returns an exit code.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CliIO } from './cli/common.js';

type Command = (args: string[], io: CliIO) => Promise<number>;

// Loaded lazily, so `omnistream keys` does not pay for the server's modules and vice versa.
const commands: Record<string, () => Promise<Command>> = {
  start: async () => (await import('./cli/start.js')).startCommand,
  keys: async () => (await import('./cli/keys.js')).keysCommand,
  device: async () => (await import('./cli/device.js')).deviceCommand,
  token: async () => (await import('./cli/token.js')).tokenCommand,
  'query run': async () => (await import('./cli/query-run.js')).queryRunCommand,
};

export async function main(argv: string[], io: CliIO = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  for (const [name, load] of Object.entries(commands)) {
    const words = name.split(' ');
    if (words.every((w, i) => argv[i] === w)) return (await load())(argv.slice(words.length), io);
  }
  io.stderr.write(`omnistream: unknown command '${argv.join(' ')}'\nusage: omnistream start|keys|device|token|query run …\n`);
  return 64;
}

// Run only as the entry point (the npm bin is a symlink, hence realpath), not when imported by tests.
if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: unknown) => {
    process.stderr.write(`omnistream: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
