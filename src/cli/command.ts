// A command as the table declares it: its usage, flags and examples, from which the parser, the
// help and the suggestions are made. Its body is loaded only when it runs, so `omnistream keys`
// does not pay for the server's modules.
import type { CliIO } from './common.js';

export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  /** How help writes the value: FILE, N, NAME=FILE. */
  readonly value?: string;
  readonly description: string;
  readonly repeatable?: boolean;
  /** The only values accepted, matched without regard to case. */
  readonly choices?: readonly string[];
  /** The config setting the flag sets (`http.port`). */
  readonly setting?: string;
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

export type FlagValues<F extends FlagSpecs> = {
  readonly [K in keyof F]: F[K] extends { readonly type: 'boolean' } ? boolean | undefined
    : F[K] extends { readonly repeatable: true } ? readonly string[]
    : F[K] extends { readonly choices: readonly (infer C)[] } ? C | undefined
    : string | undefined;
};

export interface ParsedArgs<F extends FlagSpecs = FlagSpecs> {
  readonly values: FlagValues<F>;
  readonly positionals: readonly string[];
  /** The flags that set config settings, by setting path, for loadConfig. */
  readonly settings: Readonly<Record<string, unknown>>;
}

export type CommandBody<F extends FlagSpecs> = (args: ParsedArgs<F>, io: CliIO) => Promise<number>;

export interface Command<F extends FlagSpecs = FlagSpecs> {
  /** One word or more: `query run`. */
  readonly name: string;
  readonly summary: string;
  /** Each form of the command line, after `omnistream NAME`. */
  readonly usage: readonly string[];
  /** What `help NAME` says besides usage, flags and examples. */
  readonly details?: readonly string[];
  /** The words the first argument may be, so that a slip gets a suggestion. */
  readonly actions?: readonly string[];
  /** Arguments (an action included) the command takes at most. */
  readonly maxArguments: number;
  readonly flags: F;
  readonly examples: readonly string[];
  readonly body: () => Promise<CommandBody<F>>;
}

/** Checks a command's body against its flags, then erases their types for the table. */
export function defineCommand<const F extends FlagSpecs>(command: Command<F>): Command {
  return command as unknown as Command;
}
