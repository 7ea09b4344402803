// Runs one command of the table and turns each outcome into its exit code: help on stdout (0),
// a usage mistake on stderr with the command's usage (64), an expected failure (1).
import { isOmniError } from '../core/errors.js';
import type { Command } from './command.js';
import { UsageError, type CliIO } from './common.js';
import { renderCommandHelp, renderUsage } from './help.js';
import { asksForHelp, parseCommandLine } from './parse-command-line.js';

export async function runCommand(command: Command, args: readonly string[], io: CliIO): Promise<number> {
  if (asksForHelp(args)) {
    io.stdout.write(renderCommandHelp(command));
    return 0;
  }
  try {
    const parsed = parseCommandLine(args, command);
    return await (await command.body())(parsed, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`omnistream: ${err.message}\n${renderUsage(command)}see 'omnistream help ${command.name}'\n`);
      return 64;
    }
    if (isOmniError(err)) {
      io.stderr.write(err.message.split('\n').map((line) => `omnistream: ${line}\n`).join(''));
      return 1;
    }
    throw err;
  }
}
