// `omnistream start`: runs the platform until SIGINT/SIGTERM, then stops gracefully.
import { startApp } from '../app.js';
import { createLogger } from '../telemetry/logger.js';
import { configFrom, parse, run, UsageError, type CliIO } from './common.js';

const USAGE = 'omnistream start [--config FILE] [--data DIR] [--http-port N] [--host-name NAME] [--demo]';

export async function startCommand(args: string[], io: CliIO): Promise<number> {
  return run(io, USAGE, async () => {
    const { values, positionals } = parse(args, { 'http-port': { type: 'string' }, 'host-name': { type: 'string' }, demo: { type: 'boolean' } });
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const config = configFrom(values, { 'http.port': values['http-port'], hostName: values['host-name'], demo: values.demo });
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
  });
}
