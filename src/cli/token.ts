// `omnistream token`: mints a SAS token for a device or a shared access policy.
import { deviceResource, signSasToken } from '../auth/sas.js';
import { validateDeviceId } from '../core/device.js';
import { openKeyStore, openRegistry } from '../storage.js';
import type { CommandBody } from './command.js';
import type { TOKEN_FLAGS } from './commands.js';
import { configFrom, UsageError } from './common.js';

export const tokenCommand: CommandBody<typeof TOKEN_FLAGS> = async (args, io) => {
  const { values } = args;
  if (Boolean(values.device) === Boolean(values.policy)) throw new UsageError('give exactly one of --device or --policy');
  const ttl = values.ttl === undefined ? 3600 : Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 366 * 86_400) throw new UsageError('--ttl is a whole number of seconds from 1 to 31622400');
  const config = configFrom(args);
  const expiry = Math.floor(Date.now() / 1000) + ttl;
  if (values.policy) {
    const keys = await openKeyStore(config);
    let policy;
    try {
      policy = keys.policy(values.policy);
    } finally {
      await keys.close();
    }
    if (!policy) throw new UsageError(`no policy '${values.policy}'`);
    io.stdout.write(`${signSasToken({ resource: config.hostName, key: policy.primaryKey, keyName: policy.name, expiry })}\n`);
    return 0;
  }
  const id = validateDeviceId(values.device);
  const registry = await openRegistry(config);
  try {
    const device = await registry.get(id);
    if (!device) {
      io.stderr.write(`omnistream: device '${id}' is not registered\n`);
      return 1;
    }
    io.stdout.write(`${signSasToken({ resource: deviceResource(config.hostName, id), key: device.authentication.symmetricKey.primaryKey, expiry })}\n`);
    return 0;
  } finally {
    await registry.close();
  }
};
