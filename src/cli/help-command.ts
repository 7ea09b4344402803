// `omnistream help [COMMAND]`: the overview, or one command's page.
import type { CommandBody } from './command.js';
import { COMMANDS, findCommand, unknownCommand } from './commands.js';
import { UsageError } from './common.js';
import { renderCommandHelp, renderOverview } from './help.js';
import { readVersion } from './version.js';

export const helpCommand: CommandBody<Record<never, never>> = async ({ positionals }, io) => {
  if (positionals.length === 0) {
    io.stdout.write(renderOverview(COMMANDS, readVersion()));
    return 0;
  }
  const found = findCommand(positionals);
  if (!found || found.rest.length) throw new UsageError(unknownCommand(positionals));
  io.stdout.write(renderCommandHelp(found.command));
  return 0;
};
