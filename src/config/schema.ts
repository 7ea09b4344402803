// The building blocks of the config schema. A setting is declared once — its type and range, its
// default, what it means, and optionally an OMNISTREAM_* variable and a `start` flag — and all the
// rest comes from that declaration: the zod schema that validates and fills in defaults, the
// environment and flag mapping, `omnistream start --help`, and the table in docs/operations.md.
//
// A feature declares its section with these blocks and the root (settings.ts) lists it:
//
//   export const referenceSettings = records(section({
//     file: path({ doc: 'CSV or JSON snapshot of the data set' }),          // no default: required
//     refresh: duration({ doc: 'how often the file is read again', default: '1m' }),
//   }), { doc: 'reference data sets, by the name queries join them on' });
//
// `records` maps names the user chooses to entries of one section's shape. A `path` written in a
// config file is relative to the file's folder; on the command line or in the environment, to the
// working directory. Settings inside records have no variable or flag: their names are the user's.
import { resolve } from 'node:path';
import { z } from 'zod';
import { parseDurationMs } from '../core/duration.js';

export type Milliseconds = number;

export type SettingType = 'integer' | 'text' | 'boolean' | 'choice' | 'list' | 'duration' | 'path' | 'mapping' | 'query';

export interface Setting<T = unknown> {
  readonly kind: 'setting';
  readonly type: SettingType;
  /** Accepts the setting as a file, a variable or a flag gives it; fills in the default. */
  readonly schema: z.ZodType<T>;
  /** What a valid value looks like, for errors: `an integer from 1 to 32`. */
  readonly expected: string;
  /** The allowed values in a few words for the docs (`1–32`), when the type alone does not say. */
  readonly range: string | undefined;
  /** How help writes the value: N, DIR, NAME. */
  readonly placeholder: string;
  readonly doc: string;
  /** As a user writes it (`'7d'`, not 604800000); undefined when the setting is required. */
  readonly default: unknown;
  readonly env: string | undefined;
  readonly flag: string | undefined;
}

export interface Section<S extends Shape = Shape> {
  readonly kind: 'section';
  readonly settings: S;
  readonly doc: string | undefined;
  readonly schema: z.ZodType<ShapeValue<S>>;
}

export interface Records<E extends Section = Section> {
  readonly kind: 'records';
  readonly entry: E;
  readonly doc: string;
  readonly schema: z.ZodType<{ readonly [name: string]: ValueOf<E> }>;
}

/** A list of entries of one section's shape, in the user's order (a dashboard's tiles). */
export interface Sequence<E extends Section = Section> {
  readonly kind: 'sequence';
  readonly entry: E;
  readonly doc: string;
  readonly schema: z.ZodType<readonly ValueOf<E>[]>;
}

export type SettingsNode = Setting | Section | Records | Sequence;

export interface Shape {
  readonly [name: string]: SettingsNode;
}

/** The value a node validates to: what the code reads. */
export type ValueOf<N extends SettingsNode> = z.output<N['schema']>;

type ShapeValue<S extends Shape> = { readonly [K in keyof S]: ValueOf<S[K]> };

/** How an entry of records appears in a setting's path in docs and help. */
export const ENTRY_NAME = '<name>';
/** How an item of a sequence appears in a setting's path. */
export const ITEM = '[]';

interface Declaration<D> {
  /** What the setting means, for the docs table and --help. */
  readonly doc: string;
  /** As a user would write it; omit for a required setting, null for "not set". */
  readonly default?: D;
  readonly env?: `OMNISTREAM_${string}`;
  /** The `start` flag, without its dashes. */
  readonly flag?: string;
  readonly placeholder?: string;
}

// NoInfer: a block's return is contextually typed (a section's shape), and TS would otherwise
// infer D from that context and make every required setting nullable.
type OrNull<T, D> = null extends NoInfer<D> ? T | null : T;

function leaf<T>(type: SettingType, value: z.ZodType, expected: string, placeholder: string, range: string | undefined, d: Declaration<unknown>): Setting<T> {
  let schema = d.default === null ? value.nullable() : value;
  // prefault, not default: the default goes through the same parsing as a value from a file.
  if (d.default !== undefined) schema = schema.prefault(d.default);
  return {
    kind: 'setting', type, schema: schema as z.ZodType<T>, expected, range, placeholder: d.placeholder ?? placeholder,
    doc: d.doc, default: d.default, env: d.env, flag: d.flag,
  };
}

// Variables and flags are text; files may be too (`port: "8080"`). Each type reads its text form.
const digitsAsNumber = (v: unknown): unknown => (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v);
const wordsAsBoolean = (v: unknown): unknown => (v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : v);
const commasAsList = (v: unknown): unknown => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v);

export function integer<const D extends number | null = never>(d: Declaration<D> & { readonly min: number; readonly max: number }): Setting<OrNull<number, D>> {
  const value = z.preprocess(digitsAsNumber, z.number().int().min(d.min).max(d.max));
  return leaf('integer', value, `an integer from ${d.min} to ${d.max}`, 'N', `${d.min.toLocaleString('en')}–${d.max.toLocaleString('en')}`, d);
}

export function text<const D extends string | null = never>(
  d: Declaration<D> & { readonly valid?: (value: string) => boolean; readonly expected?: string },
): Setting<OrNull<string, D>> {
  const { valid } = d;
  const value = valid ? z.string().min(1).refine(valid) : z.string().min(1);
  return leaf('text', value, d.expected ?? 'a non-empty string', 'TEXT', undefined, d);
}

export function boolean<const D extends boolean | null = never>(d: Declaration<D>): Setting<OrNull<boolean, D>> {
  return leaf('boolean', z.preprocess(wordsAsBoolean, z.boolean()), 'true or false', '', undefined, d);
}

export function choice<const V extends string, const D extends V | null = never>(
  d: Declaration<D> & { readonly values: readonly [V, ...V[]] },
): Setting<OrNull<V, D>> {
  return leaf('choice', z.enum(d.values), `one of ${d.values.join(', ')}`, d.values.join('|'), d.values.map((v) => `\`${v}\``).join(', '), d);
}

/** Strings, written as a list or as one comma-separated string (the form variables and flags use). */
export function list<const D extends readonly string[] | null = never>(d: Declaration<D>): Setting<OrNull<readonly string[], D>> {
  return leaf('list', z.preprocess(commasAsList, z.array(z.string().min(1))), 'a list of strings', 'A,B', undefined, d);
}

/** Milliseconds, written `500ms`, `15s`, `5m`, `24h`, `7d` or as a number of milliseconds. */
export function duration<const D extends string | number | null = never>(d: Declaration<D>): Setting<OrNull<Milliseconds, D>> {
  const value = z.union([z.string(), z.number()]).transform((v, ctx) => {
    try {
      return parseDurationMs(v, 'duration');
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not a duration' });
      return z.NEVER;
    }
  });
  return leaf('duration', value, 'a duration such as 500ms, 15s, 5m, 24h or 7d', 'D', undefined, d);
}

/** An absolute path; see the header for what a relative one is relative to. */
export function path<const D extends string | null = never>(d: Declaration<D>): Setting<OrNull<string, D>> {
  return leaf('path', z.string().min(1).transform((p) => resolve(p)), 'a file path', 'FILE', undefined, d);
}

/** Names the user chooses mapped to text (HTTP headers, column types), optionally from a fixed set of values. */
export function mapping<const D extends Readonly<Record<string, string>> | null = never>(
  d: Declaration<D> & { readonly values?: readonly [string, ...string[]] },
): Setting<OrNull<Readonly<Record<string, string>>, D>> {
  const value = d.values ? z.enum(d.values) : z.string();
  const expected = d.values ? `names, each mapped to one of ${d.values.join(', ')}` : 'names, each mapped to text';
  return leaf('mapping', z.record(z.string().min(1), value), expected, 'NAME: VALUE', undefined, d);
}

/** File names a `query` setting reads rather than takes as text. */
const QUERY_FILE = /^[^\n]*\.(saql|asaql|sql)$/i;

/** Whether a `query` setting's value names a file (one line ending in .saql, .asaql or .sql). */
export function isQueryFile(value: string): boolean {
  return QUERY_FILE.test(value.trim());
}

/** A query written inline, or the file holding it (see isQueryFile), made absolute like a path. */
export function queryText<const D extends string | null = never>(d: Declaration<D>): Setting<OrNull<string, D>> {
  const value = z.string().min(1).transform((q) => (isQueryFile(q) ? resolve(q.trim()) : q));
  return leaf('query', value, 'the query text, or a .saql file holding it', 'QUERY', undefined, d);
}

/** A rule across the settings of a section: the setting it blames and what is wrong. */
export interface SectionProblem<S extends Shape> {
  readonly setting: keyof S & string;
  readonly problem: string;
}

export function section<const S extends Shape>(
  settings: S,
  options: { readonly doc?: string; readonly check?: (value: ShapeValue<S>) => SectionProblem<S> | undefined } = {},
): Section<S> {
  let schema: z.ZodType = z.strictObject(Object.fromEntries(Object.entries(settings).map(([name, node]) => [name, node.schema])));
  const { check } = options;
  if (check) {
    schema = schema.superRefine((value, ctx) => {
      const found = check(value as ShapeValue<S>);
      if (found) ctx.addIssue({ code: 'custom', path: [found.setting], message: found.problem, params: { sectionCheck: true } });
    });
  }
  return { kind: 'section', settings, doc: options.doc, schema: schema.prefault({}) as z.ZodType<ShapeValue<S>> };
}

export function records<const E extends Section>(entry: E, options: { readonly doc: string }): Records<E> {
  for (const { path: at, node } of walkSettings(entry)) {
    if (node.kind === 'setting' && (node.env || node.flag)) throw new Error(`setting ${at.join('.')} of records has a variable or flag, but an entry's name is the user's`);
  }
  const schema = z.record(z.string().min(1), entry.schema).prefault({});
  return { kind: 'records', entry, doc: options.doc, schema: schema as z.ZodType as Records<E>['schema'] };
}

export function sequence<const E extends Section>(entry: E, options: { readonly doc: string }): Sequence<E> {
  for (const { path: at, node } of walkSettings(entry)) {
    if (node.kind === 'setting' && (node.env || node.flag)) throw new Error(`setting ${at.join('.')} of a list has a variable or flag`);
  }
  const schema = z.array(entry.schema).prefault([]);
  return { kind: 'sequence', entry, doc: options.doc, schema: schema as z.ZodType as Sequence<E>['schema'] };
}

/** The default as a user would write it, `required`, or `none`. */
export function describeDefault(setting: Setting): string {
  if (setting.default === undefined) return 'required';
  if (setting.default === null) return 'none';
  return typeof setting.default === 'string' ? setting.default : JSON.stringify(setting.default);
}

/** Every setting and records under `node`, in declaration order; records' entries are walked as ENTRY_NAME. */
export function* walkSettings(node: SettingsNode, at: readonly string[] = []): Generator<{ path: readonly string[]; node: Setting | Records | Sequence }> {
  switch (node.kind) {
    case 'setting':
      yield { path: at, node };
      return;
    case 'section':
      for (const [name, child] of Object.entries(node.settings)) yield* walkSettings(child, [...at, name]);
      return;
    case 'records':
      yield { path: at, node };
      yield* walkSettings(node.entry, [...at, ENTRY_NAME]);
      return;
    case 'sequence':
      yield { path: at, node };
      yield* walkSettings(node.entry, [...at, ITEM]);
      return;
  }
}

/** The node a value at `at` is checked by; undefined when no setting lives there. */
export function nodeAt(root: SettingsNode, at: readonly PropertyKey[]): SettingsNode | undefined {
  let node: SettingsNode | undefined = root;
  for (const key of at) {
    if (node === undefined || node.kind === 'setting') return undefined;
    node = node.kind === 'records' || node.kind === 'sequence' ? node.entry : Object.hasOwn(node.settings, key) ? node.settings[String(key)] : undefined;
  }
  return node;
}
