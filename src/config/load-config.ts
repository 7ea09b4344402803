// Where settings come from, later ones winning: defaults < config file < OMNISTREAM_* variables <
// command-line flags. Each value remembers its source, so an error names the file, variable or flag
// it came from, the setting's path and what is expected there.
import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import { OmniError } from '../core/errors.js';
import { nearestName } from './nearest-name.js';
import { readConfigFile } from './read-config-file.js';
import { isQueryFile, nodeAt, walkSettings, type Section, type SettingsNode, type ValueOf } from './schema.js';
import { SETTINGS, type Config } from './settings.js';

type Json = Record<string, unknown>;

/** Settings as a file writes them, from one source. */
interface Layer {
  /** The file, variable or flag, as errors name it. */
  readonly source: string;
  readonly values: Json;
}

export interface ConfigSources {
  /** A YAML or JSON file. */
  readonly file?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  /** Settings from the command line, by path (`http.port`, `dataDir`…). */
  readonly flags?: Readonly<Record<string, unknown>>;
}

export function loadConfig(sources: ConfigSources = {}): Config {
  return loadSettings(SETTINGS, sources);
}

/** Settings written as in a config file (paths relative to the working directory), over the defaults. */
export function buildConfig(values: Json): Config {
  return validate(SETTINGS, [{ source: 'settings', values }]);
}

/** `loadConfig` for any root, so a section can be tried out before the root lists it. */
export function loadSettings<S extends Section>(root: S, { file, env = process.env, flags = {} }: ConfigSources = {}): ValueOf<S> {
  const layers: Layer[] = [];
  if (file) layers.push({ source: file, values: relativeTo(dirname(resolve(file)), root, readConfigFile(file)) as Json });
  for (const { path, node } of walkSettings(root)) {
    if (node.kind !== 'setting' || !node.env) continue;
    const value = env[node.env];
    // An empty variable is an unset one, as shells make it easy to write.
    if (value !== undefined && value !== '') layers.push({ source: node.env, values: nested(path, value) });
  }
  for (const [name, value] of Object.entries(flags)) {
    if (value === undefined) continue;
    const path = name.split('.');
    const node = nodeAt(root, path);
    layers.push({ source: node?.kind === 'setting' && node.flag ? `--${node.flag}` : 'command line', values: nested(path, value) });
  }
  return validate(root, layers);
}

function validate<S extends Section>(root: S, layers: readonly Layer[]): ValueOf<S> {
  const merged: Json = {};
  const sources = new Sources();
  for (const layer of layers) mergeInto(merged, layer.values, layer.source, [], sources);
  const result = root.schema.safeParse(merged);
  if (result.success) return result.data as ValueOf<S>;
  throw new OmniError('invalid_argument', result.error.issues.flatMap((issue) => describe(root, issue, merged, sources)).join('\n'));
}

function describe(root: Section, issue: z.core.$ZodIssue, merged: Json, sources: Sources): string[] {
  const at = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => unknownSetting(root, [...at, key], sources));
  const node = nodeAt(root, at);
  const where = at.join('.');
  if (issue.code === 'custom' && issue.params?.sectionCheck === true) return [`${sources.of(at)}: ${where}: ${issue.message}`];
  return [`${sources.of(at)}: ${where}: expected ${node ? expectation(node) : issue.message}, got ${show(valueAt(merged, at))}`];
}

function expectation(node: SettingsNode): string {
  switch (node.kind) {
    case 'setting': return node.expected;
    case 'section': return 'settings by name';
    case 'records': return 'entries by name, each with its settings';
    case 'sequence': return 'a list of entries, each with its settings';
  }
}

function unknownSetting(root: Section, at: readonly string[], sources: Sources): string {
  const name = at[at.length - 1]!;
  const parent = nodeAt(root, at.slice(0, -1));
  const sibling = parent?.kind === 'section' ? nearestName(name, Object.keys(parent.settings)) : undefined;
  // A setting written in the wrong section (`port:` at the top) is found by its own name.
  const elsewhere = [...walkSettings(root)].map(({ path }) => path).filter((path) => path[path.length - 1]?.toLowerCase() === name.toLowerCase());
  // Several sections may have a setting of that name (`http.port`, `mqtt.port`): each is named.
  const suggestions = sibling !== undefined ? [[...at.slice(0, -1), sibling].join('.')] : elsewhere.slice(0, 3).map((path) => path.join('.'));
  return `${sources.of(at)}: unknown setting '${at.join('.')}'${suggestions.length > 0 ? `; did you mean ${suggestions.map((s) => `'${s}'`).join(' or ')}?` : ''}`;
}

/** Which source set which path: the last one for a value, the first one for a section. */
class Sources {
  private readonly byPath = new Map<string, string>();

  set(at: readonly string[], source: string, isSection: boolean): void {
    const id = at.join('.');
    if (!isSection || !this.byPath.has(id)) this.byPath.set(id, source);
  }

  /** The source of the value at `at`, or of the nearest section around it. */
  of(at: readonly string[]): string {
    for (let n = at.length; n > 0; n--) {
      const source = this.byPath.get(at.slice(0, n).join('.'));
      if (source !== undefined) return source;
    }
    return 'settings';
  }
}

function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mergeInto(target: Json, values: Json, source: string, at: readonly string[], sources: Sources): void {
  for (const [key, value] of Object.entries(values)) {
    const path = [...at, key];
    sources.set(path, source, isPlainObject(value));
    if (isPlainObject(value)) {
      const existing = target[key];
      const into = isPlainObject(existing) && Object.hasOwn(target, key) ? existing : {};
      mergeInto(into, value, source, path, sources);
      setOwn(target, key, into);
    } else {
      setOwn(target, key, value);
    }
  }
}

// A file may name a key `__proto__`; it must arrive as an unknown setting, not as a prototype.
function setOwn(target: Json, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function nested(path: readonly string[], value: unknown): Json {
  return path.reduceRight<unknown>((inner, key) => Object.fromEntries([[key, inner]]), value) as Json;
}

function valueAt(root: Json, at: readonly string[]): unknown {
  let value: unknown = root;
  for (const key of at) value = isPlainObject(value) && Object.hasOwn(value, key) ? value[key] : undefined;
  return value;
}

/** A file's paths made absolute against the file's folder, before anything else can override them. */
function relativeTo(base: string, node: SettingsNode | undefined, value: unknown): unknown {
  if (node?.kind === 'setting') {
    const isPath = node.type === 'path' || (node.type === 'query' && typeof value === 'string' && isQueryFile(value));
    return isPath && typeof value === 'string' && value !== '' ? resolve(base, value.trim()) : value;
  }
  if (node === undefined || !isPlainObject(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, relativeTo(base, nodeAt(node, [key]), v)]));
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
