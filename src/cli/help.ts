// Help, written from the command table: the overview, one command's page, and the usage lines a
// usage error repeats.
import type { Command, FlagSpec } from './command.js';

export function renderOverview(commands: readonly Command[], version: string): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const indent = ' '.repeat(width + 4);
  const lines = [
    `omnistream ${version}: customer-analytics streaming, wire-compatible with Azure IoT Hub`,
    '',
    'usage: omnistream COMMAND [ARGUMENTS] [FLAGS]',
    '       omnistream help COMMAND      (or COMMAND --help) a command\'s flags and examples',
    '       omnistream --version',
    '',
    'commands:',
  ];
  for (const command of commands) {
    lines.push(`  ${command.name.padEnd(width)}  ${command.summary}`);
    const flags = Object.entries(command.flags).map(([name, spec]) => flagUsage(name, spec));
    if (flags.length) lines.push(`${indent}flags: ${flags.join(', ')}`);
    lines.push(`${indent}e.g.   ${command.examples[0] ?? `omnistream ${command.name}`}`);
  }
  lines.push('', 'Exit codes: 0 done, 1 failed, 2 query error (query run), 64 usage mistake.');
  return `${lines.join('\n')}\n`;
}

export function renderCommandHelp(command: Command): string {
  const flags = Object.entries(command.flags).map(([name, spec]) => [flagUsage(name, spec), describeFlag(spec)] as const);
  flags.push(['-h, --help', 'show this help']);
  const width = Math.max(...flags.map(([usage]) => usage.length));
  const lines = [
    `omnistream ${command.name}: ${command.summary}`,
    '',
    renderUsage(command).trimEnd(),
    ...(command.details?.length ? ['', ...command.details] : []),
    '',
    'flags:',
    ...flags.map(([usage, description]) => `  ${usage.padEnd(width)}  ${description}`),
    '',
    'examples:',
    ...command.examples.map((e) => `  ${e}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** The `usage:` lines, one per form of the command. */
export function renderUsage(command: Command): string {
  return `${command.usage.map((form, i) => `${i === 0 ? 'usage:' : '      '} omnistream ${command.name}${form ? ` ${form}` : ''}`).join('\n')}\n`;
}

/** `[--name VALUE]` for each flag, for a usage line that lists them all. */
export function synopsis(flags: Readonly<Record<string, FlagSpec>>): string {
  return Object.entries(flags).map(([name, spec]) => `[${flagUsage(name, spec)}]`).join(' ');
}

function flagUsage(name: string, spec: FlagSpec): string {
  return spec.type === 'boolean' ? `--${name}` : `--${name} ${spec.value ?? 'VALUE'}`;
}

function describeFlag(spec: FlagSpec): string {
  return spec.repeatable ? `${spec.description}; repeatable` : spec.description;
}
