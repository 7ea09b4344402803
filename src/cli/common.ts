// What the command bodies share: their output streams, the usage error, and the config.
import { loadConfig, type Config } from '../config/index.js';

export interface CliIO {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** A usage mistake: printed with the command's usage, exit code 64 (EX_USAGE). */
export class UsageError extends Error {}

/** The config from --config FILE, the OMNISTREAM_* variables and the command's setting flags. */
export function configFrom(args: { readonly values: { readonly config?: string | undefined }; readonly settings: Readonly<Record<string, unknown>> }): Config {
  return loadConfig({ file: args.values.config, flags: args.settings });
}

export function printJson(io: CliIO, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
