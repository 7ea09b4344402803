#!/usr/bin/env node
// The command line: one table of commands, each a module under src/cli/ that returns an exit code.
import { fileURLToPath } from 'node:url';

export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

type Command = (args: string[], io: CliIO) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
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

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: unknown) => {
    process.stderr.write(`omnistream: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
