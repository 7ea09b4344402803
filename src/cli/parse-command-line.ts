// Reads a command's arguments against its declared flags. Every command goes through it, so every
// command spells flags, values and mistakes the same way.
import { nearestName } from '../config/index.js';
import type { Command, ParsedArgs } from './command.js';
import { UsageError } from './common.js';

/** True when the arguments ask for the command's help, wherever the flag is. */
export function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

export function parseCommandLine(args: readonly string[], command: Command): ParsedArgs {
  const values: Record<string, string | boolean | string[] | undefined> = {};
  for (const [name, spec] of Object.entries(command.flags)) if (spec.repeatable) values[name] = [];
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    // `-1` is a value (query run's "wait indefinitely"), not a flag.
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = (eq > 0 ? arg.slice(0, eq) : arg).replace(/^--?/, '');
    const spec = Object.hasOwn(command.flags, name) ? command.flags[name] : undefined;
    if (!spec) {
      const near = nearestName(name, Object.keys(command.flags));
      throw new UsageError(`unknown flag '${eq > 0 ? arg.slice(0, eq) : arg}'${near ? `; did you mean '--${near}'?` : ''}`);
    }
    let value: string | boolean;
    if (spec.type === 'boolean') {
      if (eq > 0) throw new UsageError(`--${name} takes no value`);
      value = true;
    } else {
      const given = eq > 0 ? arg.slice(eq + 1) : args[++i];
      if (given === undefined || given.startsWith('--')) throw new UsageError(`--${name} needs a value: --${name} ${spec.value ?? 'VALUE'}`);
      value = spec.choices ? choose(name, given, spec.choices) : given;
    }
    const previous = values[name];
    if (Array.isArray(previous)) previous.push(String(value));
    else if (previous !== undefined) throw new UsageError(`--${name} is given twice`);
    else values[name] = value;
  }
  const [action] = positionals;
  if (command.actions && action !== undefined && !command.actions.includes(action)) {
    const near = nearestName(action, command.actions);
    throw new UsageError(`unknown ${command.name} action '${action}'${near ? `; did you mean '${near}'?` : ''}`);
  }
  if (positionals.length > command.maxArguments) throw new UsageError(`unexpected argument '${positionals[command.maxArguments]}'`);
  const settings: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(command.flags)) {
    if (spec.setting && values[name] !== undefined) settings[spec.setting] = values[name];
  }
  return { values: values as ParsedArgs['values'], positionals, settings };
}

function choose(flag: string, given: string, choices: readonly string[]): string {
  const found = choices.find((c) => c.toLowerCase() === given.toLowerCase());
  if (found === undefined) throw new UsageError(`--${flag} takes ${choices.join(' or ')}, not '${given}'`);
  return found;
}
