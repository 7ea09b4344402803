// `omnistream device …`: the registry through the same code the REST API uses.
import { validateDeviceId } from '../core/device.js';
import { openRegistry } from '../storage.js';
import type { CommandBody } from './command.js';
import type { DEVICE_FLAGS } from './commands.js';
import { configFrom, printJson, UsageError } from './common.js';

export const deviceCommand: CommandBody<typeof DEVICE_FLAGS> = async (args, io) => {
  const { values, positionals: [action, id] } = args;
  if (!action) throw new UsageError('missing action: create, get, list, enable, disable or delete');
  if (action !== 'list' && !id) throw new UsageError(`${action} needs a device id`);
  const registry = await openRegistry(configFrom(args));
  try {
    switch (action) {
      case 'create':
        printJson(io, await registry.create({ deviceId: validateDeviceId(id), tenant: values.tenant, kind: values.kind ?? null, status: values.disabled ? 'disabled' : 'enabled' }));
        return 0;
      case 'get': {
        const device = await registry.get(validateDeviceId(id));
        if (!device) {
          io.stderr.write(`omnistream: device '${id}' is not registered\n`);
          return 1;
        }
        printJson(io, device);
        return 0;
      }
      case 'list':
        printJson(io, await registry.list());
        return 0;
      case 'enable':
      case 'disable':
        printJson(io, await registry.update({ deviceId: validateDeviceId(id), status: action === 'enable' ? 'enabled' : 'disabled' }, '*'));
        return 0;
      case 'delete':
        await registry.delete(validateDeviceId(id));
        io.stdout.write(`deleted ${id}\n`);
        return 0;
      default:
        // The parser accepts only the table's actions; this is a table and body out of step.
        throw new Error(`device action '${action}' has no implementation`);
    }
  } finally {
    await registry.close();
  }
};
