// `omnistream start`: runs the platform until SIGINT/SIGTERM, then stops gracefully.
import { startApp } from '../app.js';
import { createLogger } from '../telemetry/logger.js';
import type { CommandBody } from './command.js';
import type { START_FLAGS } from './commands.js';
import { configFrom } from './common.js';

export const startCommand: CommandBody<typeof START_FLAGS> = async (args, io) => {
  const config = configFrom(args);
  const logger = createLogger(config.logLevel, io.stdout);
  const app = await startApp(config, logger);
  if (config.demo) {
    logger.info('demo mode: keys are in the data directory; run `omnistream keys` to see the connection strings and app key', { url: app.url });
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info('shutting down', { signal });
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await app.close();
  return 0;
};
