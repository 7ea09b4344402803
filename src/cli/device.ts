// `omnistream device …`: the registry through the same code the REST API uses.
import { validateDeviceId } from '../core/device.js';
import { openRegistry } from '../storage.js';
import { configFrom, parse, printJson, run, UsageError, type CliIO } from './common.js';

const USAGE = 'omnistream device create ID [--tenant NAME] [--kind KIND] [--disabled] | get ID | list | enable ID | disable ID | delete ID  [--data DIR]';

export async function deviceCommand(args: string[], io: CliIO): Promise<number> {
  return run(io, USAGE, async () => {
    const { values, positionals } = parse(args, { tenant: { type: 'string' }, kind: { type: 'string' }, disabled: { type: 'boolean' } });
    const [action, id] = positionals;
    if (!action) throw new UsageError('missing action');
    const needsId = action !== 'list';
    if (needsId && !id) throw new UsageError(`${action} needs a device id`);
    const registry = openRegistry(configFrom(values));
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
          throw new UsageError(`unknown device action '${action}'`);
      }
    } finally {
      await registry.close();
    }
  });
}
