// `omnistream token`: mints a SAS token for a device or a shared access policy.
import { deviceResource, signSasToken } from '../auth/sas.js';
import { validateDeviceId } from '../core/device.js';
import { openKeyStore, openRegistry } from '../storage.js';
import { configFrom, parse, run, UsageError, type CliIO } from './common.js';

const USAGE = 'omnistream token --device ID | --policy NAME [--ttl SECONDS] [--data DIR]';

export async function tokenCommand(args: string[], io: CliIO): Promise<number> {
  return run(io, USAGE, async () => {
    const { values, positionals } = parse(args, { device: { type: 'string' }, policy: { type: 'string' }, ttl: { type: 'string' } });
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (Boolean(values.device) === Boolean(values.policy)) throw new UsageError('give exactly one of --device or --policy');
    const ttl = values.ttl === undefined ? 3600 : Number(values.ttl);
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 366 * 86_400) throw new UsageError('--ttl is a whole number of seconds from 1 to 31622400');
    const config = configFrom(values);
    const expiry = Math.floor(Date.now() / 1000) + ttl;
    if (values.policy) {
      const policy = openKeyStore(config).policy(values.policy);
      if (!policy) throw new UsageError(`no policy '${values.policy}'`);
      io.stdout.write(`${signSasToken({ resource: config.hostName, key: policy.primaryKey, keyName: policy.name, expiry })}\n`);
      return 0;
    }
    const id = validateDeviceId(values.device);
    const registry = openRegistry(config);
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
  });
}
