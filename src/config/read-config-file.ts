// Reads a config file: JSON when it is named .json, YAML otherwise (YAML reads JSON too, so a file
// named .conf may be either). A syntax error names the file, line and column.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { OmniError } from '../core/errors.js';

export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new OmniError('invalid_argument', `${file}: cannot read the config file (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`, { cause });
  }
  const value = extname(file).toLowerCase() === '.json' ? parseJson(file, text) : parseYaml(file, text);
  // An empty file (or one of comments only) sets nothing.
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new OmniError('invalid_argument', `${file}: expected settings by name (such as \`http: {port: 8080}\`), got ${JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

function parseYaml(file: string, text: string): unknown {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const [error] = doc.errors;
  if (error) {
    const { line, col } = lines.linePos(error.pos[0]);
    throw new OmniError('invalid_argument', `${file}:${line}:${col}: ${error.message}`, { cause: error });
  }
  return doc.toJS();
}

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    // V8 says where as an offset ("… in JSON at position 42"); some messages say nowhere.
    const at = / in JSON at position (\d+)/.exec(message);
    const where = at ? lineAndColumn(text, Number(at[1])) : '';
    throw new OmniError('invalid_argument', `${file}${where}: ${message.replace(/ in JSON at position \d+.*$/s, '')}`, { cause });
  }
}

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `:${line}:${offset - before.lastIndexOf('\n')}`;
}
