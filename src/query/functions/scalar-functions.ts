// The scalar function library, one entry per function name (lower case). A function returns
// a ConversionFailure instead of throwing; the compiled call turns it into NULL plus a diagnostic.
import { ConversionFailure, shortened, toNumber, toText } from '../model/conversions.js';
import { roundHalfAwayFromZero } from './rounding.js';
import { geospatialFunctions } from './geospatial.js';
import { dateAdd, dateDiff, dateName, datePart } from '../model/calendar.js';
import type { DatePart } from '../model/time.js';
import { DateTime, getField, isRecord, newRow, toDateTime, typeOf, type Value } from '../model/values.js';

export interface ScalarFunction {
  readonly minArgs: number;
  readonly maxArgs: number;
  /** The first argument is a date part keyword such as `minute`, not an expression. */
  readonly datePartFirst?: boolean;
  readonly call: (args: readonly Value[], part: DatePart | undefined) => Value | ConversionFailure;
}

type Result = Value | ConversionFailure;

const fn = (minArgs: number, maxArgs: number, call: ScalarFunction['call'], datePartFirst = false): ScalarFunction =>
  ({ minArgs, maxArgs, call, datePartFirst });

/** A function of numbers: NULL in, NULL out; a non-number is a conversion failure. */
const numeric = (arity: number, f: (...xs: number[]) => number): ScalarFunction =>
  fn(arity, arity, (args) => {
    const xs: number[] = [];
    for (const a of args) {
      if (a === null) return null;
      const n = toNumber(a);
      if (n === null) return new ConversionFailure(`expected a number, found ${typeOf(a)}`);
      xs.push(n);
    }
    const r = f(...xs);
    return Number.isNaN(r) ? new ConversionFailure('the result is not a number') : r;
  });

/** A function of text; NULL in any argument gives NULL. */
const textual = (minArgs: number, maxArgs: number, f: (s: string, ...rest: Value[]) => Result): ScalarFunction =>
  fn(minArgs, maxArgs, (args) => {
    if (args.some((a) => a === null)) return null;
    const s = toText(args[0]!);
    if (s === null) return new ConversionFailure(`expected nvarchar(max), found ${typeOf(args[0]!)}`);
    return f(s, ...args.slice(1));
  });

function int(v: Value | undefined): number | ConversionFailure {
  const n = v === undefined ? null : toNumber(v);
  return n === null ? new ConversionFailure('expected a bigint') : Math.trunc(n);
}

function text(v: Value | undefined): string | ConversionFailure {
  const s = v === undefined ? null : toText(v);
  return s === null ? new ConversionFailure('expected nvarchar(max)') : s;
}

/**
 * The longest text a function builds: V8's limit on a string's length. A count from an event
 * (REPLICATE('ab', 1e308)) asking for more is a conversion failure, not a RangeError out of the engine.
 */
const maxTextLength = 2 ** 29 - 24;

function repeated(s: string, k: number): string | ConversionFailure {
  if (s.length === 0) return '';
  return s.length * k > maxTextLength ? tooLong() : s.repeat(k);
}

function tooLong(): ConversionFailure {
  return new ConversionFailure(`the result would be longer than ${maxTextLength} characters`);
}

/** The datetimes DATEADD gives: the years the engine writes, and reads back, with four digits. */
const earliestDateTime = Date.parse('0000-01-01T00:00:00Z');
const latestDateTime = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function datetime(v: Value | undefined): DateTime | null | ConversionFailure {
  if (v === null || v === undefined) return null;
  // The text quoted as CAST quotes it: a 100,000-character value would make as long a diagnostic.
  return toDateTime(v) ?? new ConversionFailure(`cannot convert ${typeof v === 'string' ? `'${shortened(v)}'` : typeOf(v)} to datetime`);
}

/** One place of a LIKE / PATINDEX pattern: any run of characters (%), or a test of one code point. */
type LikeToken = 'run' | ((c: number) => boolean);

/**
 * A T-SQL LIKE / PATINDEX pattern: % any run, _ one character, [set] and [^set], any other
 * character itself. Matched by likeMatch, or a RegExp only where likeRegExp finds one safe: a
 * pattern's RegExp backtracked for seconds ('%a%a%b' against 3,000 characters took 4 s, one more
 * %a ran for minutes), and V8 would not compile one of some 40,000 characters, throwing a
 * SyntaxError out of the engine when the pattern came from an event.
 */
function likePattern(pattern: string): readonly LikeToken[] {
  const cs = Array.from(pattern);
  const tokens: LikeToken[] = [];
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i]!;
    if (c === '%') {
      if (tokens[tokens.length - 1] !== 'run') tokens.push('run');
    } else if (c === '_') tokens.push(anyCharacter);
    else if (c === '[' && cs.indexOf(']', i + 1) > 0) {
      const close = cs.indexOf(']', i + 1);
      tokens.push(characterSet(cs.slice(i + 1, close)));
      i = close;
    } else {
      const code = c.codePointAt(0)!;
      tokens.push((x) => x === code);
    }
  }
  return tokens;
}

const anyCharacter = (): boolean => true;

/**
 * [set] or [^set] of characters and ranges (a-z). A set no character can be in (a reversed range
 * such as [z-a]) matches nothing, as in T-SQL, and [^…] of it any one character.
 */
function characterSet(body: readonly string[]): (c: number) => boolean {
  const negate = body[0] === '^';
  const items = negate ? body.slice(1) : body;
  const ranges: number[] = [];
  for (let i = 0; i < items.length; i++) {
    const lo = items[i]!.codePointAt(0)!;
    if (items[i + 1] === '-' && i + 2 < items.length) {
      const hi = items[i + 2]!.codePointAt(0)!;
      if (hi < lo) return () => negate;
      ranges.push(lo, hi);
      i += 2;
    } else ranges.push(lo, lo);
  }
  return (c) => {
    for (let k = 0; k < ranges.length; k += 2) if (c >= ranges[k]! && c <= ranges[k + 1]!) return !negate;
    return negate;
  };
}

/**
 * Whether `tokens` match all of `text`, and where: the code-unit index at which the match of a
 * leading % ends (0 without one), or -1 for no match. The greedy wildcard algorithm: on a
 * mismatch it goes back only to the latest %, one character further, so it takes at most
 * text × pattern steps. Characters are code points, as the RegExp's 'u' flag had them.
 */
function likeMatch(tokens: readonly LikeToken[], text: string): number {
  let i = 0, j = 0, runAt = -1, runFrom = 0, start = 0;
  while (i < text.length) {
    const t = tokens[j];
    const c = text.codePointAt(i)!;
    if (t !== undefined && t !== 'run' && t(c)) {
      i += c > 0xffff ? 2 : 1;
      j++;
    } else if (t === 'run') {
      runAt = j++;
      runFrom = i;
      if (runAt === 0 && tokens.length > 1) start = i;
    } else if (runAt >= 0) {
      j = runAt + 1;
      runFrom += text.codePointAt(runFrom)! > 0xffff ? 2 : 1;
      i = runFrom;
      if (runAt === 0 && tokens.length > 1) start = i;
    } else return -1;
  }
  while (tokens[j] === 'run') j++;
  return j === tokens.length ? start : -1;
}

/**
 * LIKE as a RegExp, where one is as safe as likeMatch and about four times faster: a short
 * pattern with at most one % before its end, so the RegExp backtracks over one run only. Null
 * for any other pattern.
 */
function likeRegExp(pattern: string, tokens: readonly LikeToken[]): RegExp | null {
  const runs = tokens.filter((t) => t === 'run').length - (tokens[tokens.length - 1] === 'run' ? 1 : 0);
  if (runs > 1 || pattern.length > 1000) return null;
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    // %% is one run, here as in likePattern: two adjacent [\s\S]* would backtrack over each other.
    if (c === '%') re += pattern[i - 1] === '%' ? '' : '[\\s\\S]*';
    else if (c === '_') re += '[\\s\\S]';
    else if (c === '[' && pattern.indexOf(']', i + 1) > 0) {
      const close = pattern.indexOf(']', i + 1);
      let set = pattern.slice(i + 1, close);
      const negate = set.startsWith('^');
      if (negate) set = set.slice(1);
      const cls = set.replace(/[\\\]]/g, '\\$&');
      re += isCharacterClass(cls) ? `[${negate ? '^' : ''}${cls}]` : negate ? '[\\s\\S]' : '(?!)';
      i = close;
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'u');
}

function isCharacterClass(body: string): boolean {
  try {
    new RegExp(`[${body}]`, 'u');
    return true;
  } catch {
    return false;
  }
}

interface CompiledLike {
  readonly tokens: readonly LikeToken[];
  /** Whether a text is like the pattern. */
  readonly test: (text: string) => boolean;
}

/** A LIKE / PATINDEX pattern compiled once. */
function compileLike(pattern: string): CompiledLike {
  const tokens = likePattern(pattern);
  const re = likeRegExp(pattern, tokens);
  return { tokens, test: re ? (text) => re.test(text) : (text) => likeMatch(tokens, text) >= 0 };
}

/** A compiled LIKE pattern (a literal one in the query): whether a text is like it. */
export function likeTest(pattern: string): (text: string) => boolean {
  return compileLike(pattern).test;
}

/** Patterns read from events (LIKE, PATINDEX), compiled once each: events repeat them. */
const likeCache = new Map<string, CompiledLike>();

function cachedLike(pattern: string): CompiledLike {
  let compiled = likeCache.get(pattern);
  if (!compiled) {
    compiled = compileLike(pattern);
    if (likeCache.size > 1000) likeCache.clear();
    likeCache.set(pattern, compiled);
  }
  return compiled;
}

export function matchesLike(value: string, pattern: string): boolean {
  return cachedLike(pattern).test(value);
}

/**
 * re.exec(s), or a failure where V8 cannot run the pattern: it compiles a RegExp on first use
 * (separately for one- and two-byte text) and refuses one past some 40,000 characters with a
 * SyntaxError ('Regular expression too large'), which escaped the engine from an event's pattern.
 */
function execPattern(re: RegExp, s: string): RegExpExecArray | null | ConversionFailure {
  try {
    return re.exec(s);
  } catch (x) {
    if (x instanceof SyntaxError || x instanceof RangeError) return new ConversionFailure('the pattern is too large or too complex to match');
    throw x;
  }
}

const regexCache = new Map<string, RegExp | null>();

function compiledRegex(pattern: string): RegExp | null {
  if (!regexCache.has(pattern)) {
    let re: RegExp | null;
    try { re = new RegExp(pattern, 'i'); } catch { re = null; }
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return regexCache.get(pattern) ?? null;
}

export const scalarFunctions: Readonly<Record<string, ScalarFunction>> = {
  // --- math ---
  abs: numeric(1, Math.abs),
  ceiling: numeric(1, Math.ceil),
  floor: numeric(1, Math.floor),
  sign: numeric(1, Math.sign),
  sqrt: numeric(1, Math.sqrt),
  square: numeric(1, (x) => x * x),
  exp: numeric(1, Math.exp),
  power: numeric(2, (x, y) => x ** y),
  round: fn(2, 3, (args) => {
    const [x, len] = args;
    if (x === null || len === null || x === undefined || len === undefined) return null;
    const n = toNumber(x);
    const d = toNumber(len);
    if (n === null || d === null) return new ConversionFailure(`the arguments of ROUND must be numbers, found ${typeOf(x)}`);
    // A third argument other than 0 truncates instead of rounding, as in T-SQL.
    if (args[2] !== undefined && args[2] !== null && toNumber(args[2]) !== 0) {
      const f = 10 ** Math.trunc(d);
      return Math.trunc(n * f) / f;
    }
    return roundHalfAwayFromZero(n, d);
  }),

  // --- NULL handling ---
  isnull: fn(2, 2, ([a, b]) => (a === null ? (b ?? null) : (a ?? null))),
  coalesce: fn(1, Infinity, (args) => args.find((a) => a !== null) ?? null),
  nullif: fn(2, 2, ([a, b]) => {
    if (a === null || a === undefined) return null;
    return b !== null && b !== undefined && (a === b || (a instanceof DateTime && b instanceof DateTime && a.ms === b.ms)) ? null : a;
  }),

  // --- strings (1-based positions) ---
  len: textual(1, 1, (s) => {
    // Trailing blanks do not count. Not / +$/: on a long run of blanks followed by anything else
    // the RegExp tried every start in the run, 4 s for 100,000 blanks and 'x'.
    let n = s.length;
    while (n > 0 && s.charCodeAt(n - 1) === 32) n--;
    return n;
  }),
  lower: textual(1, 1, (s) => s.toLowerCase()),
  upper: textual(1, 1, (s) => s.toUpperCase()),
  trim: textual(1, 1, (s) => s.trim()),
  ltrim: textual(1, 1, (s) => s.replace(/^\s+/, '')),
  // trimEnd removes what /\s+$/ did, without its quadratic time on blanks followed by a non-blank.
  rtrim: textual(1, 1, (s) => s.trimEnd()),
  reverse: textual(1, 1, (s) => [...s].reverse().join('')),
  substring: textual(3, 3, (s, start, length) => {
    const st = int(start), ln = int(length);
    if (st instanceof ConversionFailure) return st;
    if (ln instanceof ConversionFailure) return ln;
    if (ln < 0) return new ConversionFailure('the length of SUBSTRING cannot be negative');
    // Positions before 1 still count towards the length, as in T-SQL.
    const from = Math.max(st, 1);
    const to = st + ln;
    return to <= from ? '' : s.slice(from - 1, to - 1);
  }),
  left: textual(2, 2, (s, n) => {
    const k = int(n);
    if (k instanceof ConversionFailure) return k;
    return k < 0 ? new ConversionFailure('LEFT needs a non-negative length') : s.slice(0, k);
  }),
  right: textual(2, 2, (s, n) => {
    const k = int(n);
    if (k instanceof ConversionFailure) return k;
    return k < 0 ? new ConversionFailure('RIGHT needs a non-negative length') : k === 0 ? '' : s.slice(-k);
  }),
  replace: textual(3, 3, (s, find, by) => {
    const f = text(find), b = text(by);
    if (f instanceof ConversionFailure) return f;
    if (b instanceof ConversionFailure) return b;
    if (f === '') return s;
    const parts = s.split(f);
    if (s.length + (parts.length - 1) * (b.length - f.length) > maxTextLength) return tooLong();
    return parts.join(b);
  }),
  charindex: fn(2, 3, (args) => {
    const [find, search, start] = args;
    if (find === null || search === null || find === undefined || search === undefined) return null;
    const f = text(find), s = text(search);
    if (f instanceof ConversionFailure) return f;
    if (s instanceof ConversionFailure) return s;
    const from = start === undefined || start === null ? 1 : int(start);
    if (from instanceof ConversionFailure) return from;
    return s.indexOf(f, Math.max(from, 1) - 1) + 1;
  }),
  patindex: fn(2, 2, ([pattern, s]) => {
    if (pattern === null || s === null || pattern === undefined || s === undefined) return null;
    const p = text(pattern), v = text(s);
    if (p instanceof ConversionFailure) return p;
    if (v instanceof ConversionFailure) return v;
    // The pattern is anchored by its own % signs: '%abc%' finds abc anywhere.
    const at = likeMatch(cachedLike(p).tokens, v);
    return at < 0 ? 0 : at + 1;
  }),
  regexmatch: fn(2, 2, ([s, pattern]) => {
    if (s === null || pattern === null || s === undefined || pattern === undefined) return null;
    const v = text(s), p = text(pattern);
    if (v instanceof ConversionFailure) return v;
    if (p instanceof ConversionFailure) return p;
    const re = compiledRegex(p);
    const m = re ? execPattern(re, v) : null;
    return m instanceof ConversionFailure ? m : m ? m.index + 1 : 0;
  }),
  concat: fn(1, Infinity, (args) => {
    let out = '';
    for (const a of args) if (a !== null) out += toText(a) ?? '';
    return out;
  }),
  concat_ws: fn(2, Infinity, ([sep, ...rest]) => {
    if (sep === null || sep === undefined) return null;
    const s = text(sep);
    if (s instanceof ConversionFailure) return s;
    return rest.filter((a) => a !== null).map((a) => toText(a) ?? '').join(s);
  }),
  replicate: textual(2, 2, (s, n) => {
    const k = int(n);
    if (k instanceof ConversionFailure) return k;
    return k < 0 ? null : repeated(s, k);
  }),
  space: fn(1, 1, ([n]) => {
    if (n === null || n === undefined) return null;
    const k = int(n);
    if (k instanceof ConversionFailure) return k;
    return k < 0 ? null : repeated(' ', k);
  }),
  stuff: textual(4, 4, (s, start, length, insert) => {
    const st = int(start), ln = int(length), ins = text(insert);
    if (st instanceof ConversionFailure) return st;
    if (ln instanceof ConversionFailure) return ln;
    if (ins instanceof ConversionFailure) return ins;
    if (st < 1 || st > s.length || ln < 0) return null;
    return s.slice(0, st - 1) + ins + s.slice(st - 1 + ln);
  }),
  translate: textual(3, 3, (s, from, to) => {
    const f = text(from), t = text(to);
    if (f instanceof ConversionFailure) return f;
    if (t instanceof ConversionFailure) return t;
    if (f.length !== t.length) return new ConversionFailure('TRANSLATE needs two strings of the same length');
    let out = '';
    for (const c of s) {
      const k = f.indexOf(c);
      out += k < 0 ? c : t[k];
    }
    return out;
  }),
  unicode: textual(1, 1, (s) => (s.length === 0 ? null : s.codePointAt(0) ?? null)),
  nchar: fn(1, 1, ([n]) => {
    if (n === null || n === undefined) return null;
    const k = int(n);
    if (k instanceof ConversionFailure) return k;
    // Written so that NaN (Infinity - Infinity from an event's numbers) is no code point either.
    return k >= 0 && k <= 0x10ffff ? String.fromCodePoint(k) : null;
  }),
  json_parse: textual(1, 1, (s) => {
    try {
      const v = JSON.parse(s) as unknown;
      return v !== null && typeof v === 'object' ? (v as Value) : null;
    } catch {
      return null;
    }
  }),

  // --- date and time (UTC) ---
  dateadd: fn(3, 3, ([, amount, date], part) => {
    if (amount === null || date === null || amount === undefined || date === undefined) return null;
    const n = toNumber(amount);
    if (n === null) return new ConversionFailure('the number of DATEADD must be a number');
    const d = datetime(date);
    if (d === null || d instanceof ConversionFailure) return d;
    const ms = dateAdd(part!, n, d.ms);
    // An overflow, as T-SQL's DATEADD has it. Past year 9999 (or 1e308 days on) the time was NaN,
    // ±Infinity or beyond what Date can format: printed 'NaN', or a RangeError out of the engine.
    return ms >= earliestDateTime && ms <= latestDateTime ? new DateTime(ms) : new ConversionFailure('the result is outside 0000-01-01 to 9999-12-31');
  }, true),
  datediff: fn(3, 3, ([, start, end], part) => {
    const a = datetime(start), b = datetime(end);
    if (a === null || b === null) return null;
    if (a instanceof ConversionFailure) return a;
    if (b instanceof ConversionFailure) return b;
    return dateDiff(part!, a.ms, b.ms);
  }, true),
  datepart: fn(2, 2, ([, date], part) => {
    const d = datetime(date);
    if (d === null || d instanceof ConversionFailure) return d;
    return datePart(part!, d.ms);
  }, true),
  datename: fn(2, 2, ([, date], part) => {
    const d = datetime(date);
    if (d === null || d instanceof ConversionFailure) return d;
    return dateName(part!, d.ms);
  }, true),
  year: fn(1, 1, ([date]) => { const d = datetime(date); return d === null || d instanceof ConversionFailure ? d : datePart('year', d.ms); }),
  month: fn(1, 1, ([date]) => { const d = datetime(date); return d === null || d instanceof ConversionFailure ? d : datePart('month', d.ms); }),
  day: fn(1, 1, ([date]) => { const d = datetime(date); return d === null || d instanceof ConversionFailure ? d : datePart('day', d.ms); }),
  datetimefromparts: fn(7, 7, (args) => {
    if (args.some((a) => a === null)) return null;
    const n = args.map((a) => toNumber(a!));
    if (n.some((x) => x === null || !Number.isInteger(x))) return new ConversionFailure('DATETIMEFROMPARTS takes integers');
    const [y, mo, d, h, mi, s, ms] = n as number[];
    const t = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!, ms!);
    const check = new Date(t);
    if (check.getUTCMonth() !== mo! - 1 || check.getUTCDate() !== d! || h! > 23 || mi! > 59 || s! > 59 || ms! > 999) {
      return new ConversionFailure('DATETIMEFROMPARTS: the parts do not form a valid date');
    }
    return new DateTime(y! < 100 ? new Date(t).setUTCFullYear(y!) : t);
  }),

  // --- records and arrays ---
  getrecordpropertyvalue: fn(2, 2, ([rec, name]) => {
    if (rec === null || name === null || rec === undefined || name === undefined) return null;
    const n = toText(name);
    return isRecord(rec) && n !== null ? getField(rec, n, n.toLowerCase()) : null;
  }),
  getarrayelement: fn(2, 2, ([arr, index]) => {
    if (!Array.isArray(arr) || index === null || index === undefined) return null;
    const i = toNumber(index);
    return i !== null && Number.isInteger(i) && i >= 0 ? (arr[i] ?? null) : null;
  }),
  getarraylength: fn(1, 1, ([arr]) => (Array.isArray(arr) ? arr.length : null)),
  gettype: fn(1, 1, ([v]) => typeOf(v ?? null)),
  // --- geospatial ---
  ...geospatialFunctions,
};

/** The rows of CROSS APPLY GetArrayElements / GetRecordProperties for one value. */
export const tableFunctions = {
  getarrayelements(v: Value): Value[] {
    if (!Array.isArray(v)) return [];
    return v.map((el, i) => {
      const r = newRow();
      r.ArrayIndex = i;
      r.ArrayValue = el;
      return r;
    });
  },
  getrecordproperties(v: Value): Value[] {
    if (!isRecord(v)) return [];
    return Object.keys(v).map((k) => {
      const r = newRow();
      r.PropertyName = k;
      r.PropertyValue = v[k] ?? null;
      return r;
    });
  },
} as const;

export type TableFunctionName = keyof typeof tableFunctions;
