// What every command shares: flag parsing with clear errors, and the config from --config/--data.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, type Config } from '../config/index.js';
import { isOmniError } from '../core/errors.js';

export interface CliIO {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** A usage mistake: the command prints it with its usage line and exits 64 (EX_USAGE). */
export class UsageError extends Error {}

export const CONFIG_OPTIONS = {
  config: { type: 'string' },
  data: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...CONFIG_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

export function configFrom(values: { config?: string | boolean | undefined; data?: string | boolean | undefined }, flags: Record<string, unknown> = {}): Config {
  return loadConfig({ file: values.config as string | undefined, flags: { dataDir: values.data, ...flags } });
}

/** Runs a command body, turning expected failures into a message and an exit code. */
export async function run(io: CliIO, usage: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`omnistream: ${err.message}\nusage: ${usage}\n`);
      return 64;
    }
    if (isOmniError(err)) {
      io.stderr.write(`omnistream: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

export function printJson(io: CliIO, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
