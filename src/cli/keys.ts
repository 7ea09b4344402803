// `omnistream keys`: the policies' connection strings and the app keys; add and revoke app keys.
import type { KeyStore } from '../auth/key-store.js';
import type { Config } from '../config/index.js';
import { openKeyStore } from '../storage.js';
import type { CommandBody } from './command.js';
import type { KEYS_FLAGS } from './commands.js';
import { configFrom, printJson, UsageError, type CliIO } from './common.js';
import { serverUrl } from './server-client.js';

export const keysCommand: CommandBody<typeof KEYS_FLAGS> = async (args, io) => {
  const config = configFrom(args);
  const keys = await openKeyStore(config);
  try {
    return await keysAction(args, io, config, keys);
  } finally {
    await keys.close();
  }
};

async function keysAction(args: Parameters<CommandBody<typeof KEYS_FLAGS>>[0], io: CliIO, config: Config, keys: KeyStore): Promise<number> {
  const { values, positionals: [action, arg] } = args;
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
  if (action === 'add-viewer') {
    const key = await keys.addViewerKey(values.tenant ?? null);
    if (values.json) printJson(io, key);
    else io.stdout.write(`${key.key}  tenant=${key.tenant ?? '(every tenant)'}\n  ${dashboardLink(config, key.key)}\n`);
    return 0;
  }
  if (action === 'revoke-viewer') {
    if (!arg) throw new UsageError('revoke-viewer needs the viewer key');
    await keys.revokeViewerKey(arg);
    io.stdout.write(`revoked ${arg}\n`);
    return 0;
  }
  const policies = Object.fromEntries(keys.policies().map((p) => [p.name, {
    key: p.primaryKey,
    rights: p.rights,
    connectionString: `HostName=${config.hostName};SharedAccessKeyName=${p.name};SharedAccessKey=${p.primaryKey}`,
  }]));
  const appKeys = keys.appKeys().map((k) => ({ key: k.key, tenant: k.tenant }));
  const viewerKeys = keys.viewerKeys().map((k) => ({ key: k.key, tenant: k.tenant }));
  if (values.json) {
    printJson(io, { hostName: config.hostName, policies, appKeys, viewerKeys });
  } else {
    for (const [name, p] of Object.entries(policies)) io.stdout.write(`${name} (${p.rights.join(', ')})\n  ${p.connectionString}\n`);
    io.stdout.write('app keys (public, embed them in pages and apps):\n');
    for (const k of appKeys) io.stdout.write(`  ${k.key}  tenant=${k.tenant}\n`);
    io.stdout.write('viewer keys (read-only dashboards):\n');
    if (viewerKeys.length === 0) io.stdout.write('  none yet: omnistream keys add-viewer --tenant NAME\n');
    for (const k of viewerKeys) io.stdout.write(`  ${k.key}  tenant=${k.tenant ?? '(every tenant)'}\n    ${dashboardLink(config, k.key)}\n`);
  }
  return 0;
}

/** Where a viewer key opens the dashboards, as a person would type it (localhost, not 127.0.0.1). */
function dashboardLink(config: Config, key: string): string {
  if (config.http.port === 0) return `/?key=${key}  (on the server's address)`;
  const url = serverUrl(config, undefined);
  if (url.hostname === '127.0.0.1') url.hostname = 'localhost';
  url.searchParams.set('key', key);
  return url.toString();
}
