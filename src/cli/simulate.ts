// `omnistream simulate`: the demo's shopper simulator on its own, against any running server (a
// demo started elsewhere, a staging hub), until SIGINT/SIGTERM or --duration. Each brand's app key
// comes from --app-key TENANT=KEY, or from the data directory's keys on the server's machine.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/index.js';
import { readDemoBrands } from '../demo/demo-data.js';
import { ShopperSimulator } from '../demo/shopper-simulator.js';
import { openKeyStore } from '../storage.js';
import { createLogger } from '../telemetry/logger.js';
import type { CommandBody } from './command.js';
import type { SIMULATE_FLAGS } from './commands.js';
import { configFrom, UsageError } from './common.js';
import { serverUrl } from './server-client.js';

export const simulateCommand: CommandBody<typeof SIMULATE_FLAGS> = async (args, io) => {
  const { values } = args;
  const config = configFrom(args);
  if (config.demoRate === 0) throw new UsageError('--rate 0 sends nothing: give 1 or more events per second');
  const duration = values.duration === undefined ? undefined : Number(values.duration);
  if (duration !== undefined && !(Number.isFinite(duration) && duration > 0 && duration <= 31_622_400)) {
    throw new UsageError(`--duration takes seconds, more than 0, not '${values.duration}'`);
  }
  const url = serverUrl(config, values.url).toString();
  const given = new Map<string, string>();
  for (const pair of values['app-key']) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) throw new UsageError(`--app-key takes TENANT=KEY, not '${pair}'`);
    given.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const demoBrands = await readDemoBrands();
  const appKeyOf = await appKeys(given, config);
  const brands = demoBrands.flatMap((brand) => {
    const appKey = appKeyOf(brand.tenant);
    return appKey === undefined ? [] : [{ brand, appKey }];
  });
  for (const tenant of given.keys()) {
    if (!demoBrands.some((b) => b.tenant === tenant)) throw new UsageError(`--app-key names '${tenant}', which is not a demo brand (${demoBrands.map((b) => b.tenant).join(', ')})`);
  }
  if (brands.length === 0) {
    throw new UsageError(`no app key for the demo brands (${demoBrands.map((b) => b.tenant).join(', ')}) in ${config.dataDir}: give --app-key TENANT=KEY, or run omnistream start --demo with this data directory once`);
  }

  const logger = createLogger(config.logLevel, io.stdout);
  const simulator = new ShopperSimulator({ url, rate: config.demoRate, brands, logger });
  simulator.start();
  await new Promise<void>((resolve) => {
    const timer = duration === undefined ? undefined : setTimeout(resolve, duration * 1000);
    const stop = (): void => {
      clearTimeout(timer);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await simulator.stop();
  const { sent } = simulator.stats();
  if (sent === 0) {
    io.stderr.write(`omnistream: no event was accepted by ${url}; the log above says why\n`);
    return 1;
  }
  return 0;
};

/** The app key of a tenant: given on the command line, else the oldest live one in the data directory. */
async function appKeys(given: ReadonlyMap<string, string>, config: Config): Promise<(tenant: string) => string | undefined> {
  if (given.size > 0) return (tenant) => given.get(tenant);
  // Opening a key store creates one; a data directory without keys has none to give.
  if (config.db.url === null && !existsSync(join(config.dataDir, 'keys.json'))) return () => undefined;
  const store = await openKeyStore(config);
  const keys = store.appKeys();
  await store.close();
  return (tenant) => keys.find((k) => k.tenant === tenant)?.key;
}
