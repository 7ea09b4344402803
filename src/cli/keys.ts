// `omnistream keys`: the policies' connection strings and the app keys; add and revoke app keys.
import { openKeyStore } from '../storage.js';
import type { CommandBody } from './command.js';
import type { KEYS_FLAGS } from './commands.js';
import { configFrom, printJson, UsageError } from './common.js';

export const keysCommand: CommandBody<typeof KEYS_FLAGS> = async (args, io) => {
  const { values, positionals: [action, arg] } = args;
  const config = configFrom(args);
  const keys = openKeyStore(config);
  if (action === 'add-app') {
    if (!values.tenant) throw new UsageError('add-app needs --tenant NAME');
    const key = await keys.addAppKey(values.tenant);
    if (values.json) printJson(io, key);
    else io.stdout.write(`${key.key}  tenant=${key.tenant}\n`);
    return 0;
  }
  if (action === 'revoke-app') {
    if (!arg) throw new UsageError('revoke-app needs the app key');
    await keys.revokeAppKey(arg);
    io.stdout.write(`revoked ${arg}\n`);
    return 0;
  }
  const policies = Object.fromEntries(keys.policies().map((p) => [p.name, {
    key: p.primaryKey,
    rights: p.rights,
    connectionString: `HostName=${config.hostName};SharedAccessKeyName=${p.name};SharedAccessKey=${p.primaryKey}`,
  }]));
  const appKeys = keys.appKeys().map((k) => ({ key: k.key, tenant: k.tenant }));
  if (values.json) {
    printJson(io, { hostName: config.hostName, policies, appKeys });
  } else {
    for (const [name, p] of Object.entries(policies)) io.stdout.write(`${name} (${p.rights.join(', ')})\n  ${p.connectionString}\n`);
    io.stdout.write('app keys (public, embed them in pages and apps):\n');
    for (const k of appKeys) io.stdout.write(`  ${k.key}  tenant=${k.tenant}\n`);
  }
  return 0;
};
