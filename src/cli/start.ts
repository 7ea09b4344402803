// `omnistream start`: runs the platform until SIGINT/SIGTERM, then stops gracefully. With --demo
// (what `npm start` runs) it runs the retail demo: its config unless --config names another, a key
// per brand, the links printed first as plain lines, and the shopper simulator.
import { PassThrough } from 'node:stream';
import { startApp } from '../app.js';
import { loadConfig } from '../config/index.js';
import { DEMO_CONFIG } from '../demo/demo-data.js';
import { startDemo, type RunningDemo } from '../demo/demo-mode.js';
import { createLogger } from '../telemetry/logger.js';
import type { CommandBody } from './command.js';
import type { START_FLAGS } from './commands.js';
import { configFrom } from './common.js';

export const startCommand: CommandBody<typeof START_FLAGS> = async (args, io) => {
  let config = configFrom(args);
  if (config.demo && args.values.config === undefined) config = loadConfig({ file: DEMO_CONFIG, flags: args.settings });
  // In demo mode the log waits until the links are printed, so they come first, not among JSON lines.
  const held = config.demo ? new PassThrough() : undefined;
  const release = () => held?.pipe(io.stdout, { end: false });
  const logger = createLogger(config.logLevel, held ?? io.stdout);
  let demo: RunningDemo | undefined;
  let app;
  try {
    app = await startApp(config, logger);
    if (config.demo) {
      demo = await startDemo({ config, keys: app.keys, url: app.url, logger });
      io.stdout.write(demo.banner);
    }
  } catch (err) {
    release();
    await app?.close();
    throw err;
  }
  release();
  demo?.simulator?.start();
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info('shutting down', { signal });
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  // The simulator stops first, so that it is not told the server is shutting down.
  await demo?.stop();
  await app.close();
  return 0;
};
