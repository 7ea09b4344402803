#!/usr/bin/env node
// The command line: finds the command in the table (cli/commands.ts), parses its flags, runs it.
// Help goes to stdout and exits 0; a usage mistake goes to stderr with the usage and exits 64;
// a failure exits 1 (query run: 2 for a query error).
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { COMMANDS, findCommand, unknownCommand } from './cli/commands.js';
import type { CliIO } from './cli/common.js';
import { renderOverview } from './cli/help.js';
import { runCommand } from './cli/run-command.js';
import { readVersion } from './cli/version.js';

export async function main(argv: readonly string[], io: CliIO = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [first] = argv;
  if (first === '--help' || first === '-h') {
    io.stdout.write(renderOverview(COMMANDS, readVersion()));
    return 0;
  }
  if (first === '--version') {
    io.stdout.write(`${readVersion()}\n`);
    return 0;
  }
  const found = first === undefined || first.startsWith('-') ? undefined : findCommand(argv);
  if (!found) {
    const why = first === undefined ? 'missing command' : first.startsWith('-') ? `a command comes before flags such as '${first}'` : unknownCommand(argv);
    io.stderr.write(`omnistream: ${why}\nusage: omnistream COMMAND [ARGUMENTS] [FLAGS], COMMAND one of ${COMMANDS.map((c) => c.name).join(', ')}\nsee 'omnistream --help'\n`);
    return 64;
  }
  return runCommand(found.command, found.rest, io);
}

// Run only as the entry point (the npm bin is a symlink, hence realpath), not when imported by tests.
if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: unknown) => {
    process.stderr.write(`omnistream: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
