// `omnistream config`: check the settings start would use (the effective values, secrets hidden),
// or print the settings table that docs/operations.md carries.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderSettingsTable, replaceSettingsTable, SETTINGS } from '../config/index.js';
import type { CommandBody } from './command.js';
import type { CONFIG_FLAGS } from './commands.js';
import { configFrom, printJson, UsageError } from './common.js';

export const configCommand: CommandBody<typeof CONFIG_FLAGS> = async (args, io) => {
  const { values, positionals: [action] } = args;
  switch (action) {
    case 'check': {
      const config = configFrom(args);
      printJson(io, { ...config, ownerKey: config.ownerKey === null ? null : '(set)' });
      return 0;
    }
    case 'docs': {
      const table = renderSettingsTable(SETTINGS);
      if (values.into === undefined) {
        io.stdout.write(`${table}\n`);
        return 0;
      }
      writeFileSync(values.into, replaceSettingsTable(readFileSync(values.into, 'utf8'), table));
      io.stdout.write(`wrote the settings table into ${values.into}\n`);
      return 0;
    }
    case undefined:
      throw new UsageError('missing action: check or docs');
    default:
      throw new Error(`config action '${action}' has no implementation`);
  }
};
