// One function file in its own node:vm context: no require, no process, no timers, no promises,
// no eval (code generation from strings is off), and every call under a time limit enforced by the
// checks instrumentSource put in every loop and function body. Nothing of this process is ever
// reachable from inside: values go in as primitives or JSON text and come out the same way, and
// everything the host reads back is a primitive written by the bootstrap below, never a user
// object (a getter or a Proxy would run user code outside the time limit).
import { randomBytes } from 'node:crypto';
import { types } from 'node:util';
import { createContext, Script } from 'node:vm';
import { DateTime, UserFunctionFailure, type Value } from '../query/index.js';
import { FunctionFileError, instrumentSource, type InstrumentedSource, type SourcePlace } from './instrument-source.js';

/** The key of the one-field record a datetime travels as in JSON, either way. */
const DATE_KEY = '\u0000omnistream.datetime';

/** What the bootstrap's `invoke` does, chosen by the host in `io.op`. */
const enum Op { Find = 0, Call = 1, Create = 2, Accumulate = 3, Deaccumulate = 4, Result = 5, Save = 6, Restore = 7, Shape = 8, Describe = 9 }
/** What `invoke` left in `io.v`, by `io.kind`. */
const enum Kind { Value = 0, Date = 1, Json = 2, Error = 3, Timeout = 4 }

/** The bootstrap's exchange record: a sealed object of the context, data properties only. */
interface Io {
  op: Op;
  n: number;
  a0: unknown;
  a1: unknown;
  a2: unknown;
  a3: unknown;
  json: string;
  fn: unknown;
  target: unknown;
  kind: Kind;
  v: unknown;
}

// Runs first in the context, before any user code: it keeps its own references to the built-ins
// it uses, so user code that replaces JSON or Date.now changes nothing here.
const bootstrap = `(function (tickName, limitMs, dateKey) {
  'use strict';
  const g = globalThis;
  const parse = JSON.parse, stringify = JSON.stringify, now = Date.now, DateC = Date, StringC = String;
  const getTime = Date.prototype.getTime, objectToString = Object.prototype.toString;
  const apply = Reflect.apply, construct = Reflect.construct, keys = Object.keys, isArray = Array.isArray;
  const TIMEOUT = Object.freeze({});
  let deadline = Infinity, expired = false, count = 0;
  Object.defineProperty(g, tickName, { value: function () {
    if (expired) throw TIMEOUT;
    if (++count >= 1024) { count = 0; if (now() > deadline) { expired = true; throw TIMEOUT; } }
  }, writable: false, configurable: false, enumerable: false });
  // What could run user code after a call returns (outside its time limit) or block the thread.
  for (const name of ['Promise', 'SharedArrayBuffer', 'Atomics', 'WebAssembly', 'FinalizationRegistry', 'WeakRef']) delete g[name];
  const io = Object.seal({ op: 0, n: 0, a0: undefined, a1: undefined, a2: undefined, a3: undefined, json: '', fn: undefined, target: undefined, kind: 0, v: undefined });
  const isDate = (v) => v !== null && typeof v === 'object' && apply(objectToString, v, []) === '[object Date]';
  const unsupported = (what) => ({ unsupported: what });
  const revive = function (k, v) {
    if (v !== null && typeof v === 'object' && !isArray(v) && typeof v[dateKey] === 'number' && keys(v).length === 1) return new DateC(v[dateKey]);
    return v;
  };
  const replace = function (k, v) {
    const raw = this[k];
    if (isDate(raw)) return { [dateKey]: apply(getTime, raw, []) };
    const t = typeof raw;
    if (t === 'function' || t === 'symbol' || t === 'bigint') throw unsupported(t);
    return raw === undefined ? null : v;
  };
  const put = (r) => {
    const t = typeof r;
    if (r === undefined || r === null) { io.kind = 0; io.v = null; }
    else if (t === 'number' || t === 'string' || t === 'boolean') { io.kind = 0; io.v = r; }
    else if (isDate(r)) { io.kind = 1; io.v = apply(getTime, r, []); }
    else if (t === 'object') { io.kind = 2; io.v = stringify(r, replace); }
    else throw unsupported(t);
  };
  const args = () => {
    const n = io.n;
    if (n < 0) return parse(io.json, revive);
    return n === 0 ? [] : n === 1 ? [io.a0] : n === 2 ? [io.a0, io.a1] : n === 3 ? [io.a0, io.a1, io.a2] : [io.a0, io.a1, io.a2, io.a3];
  };
  const describe = (e) => {
    if (e !== null && typeof e === 'object' && e.unsupported !== undefined) return 'returned a ' + e.unsupported + ', which a query cannot hold';
    let text = StringC(e);
    const stack = e !== null && typeof e === 'object' ? e.stack : undefined;
    const at = typeof stack === 'string' ? /\\n\\s*at [^\\n]*?:(\\d+):\\d+\\)?/.exec(stack) : null;
    return at ? text + ' (line ' + at[1] + ')' : text;
  };
  const run = () => {
    switch (io.op) {
      case 0: { const f = g[io.json]; if (typeof f !== 'function') throw new TypeError(io.json + ' is not a function'); io.fn = f; put(null); return; }
      case 1: {
        // The usual one to three plain arguments called directly, without an arguments array.
        const f = io.fn, n = io.n;
        put(n === 1 ? f(io.a0) : n === 2 ? f(io.a0, io.a1) : n === 3 ? f(io.a0, io.a1, io.a2) : apply(f, undefined, args()));
        return;
      }
      case 2: { const s = construct(io.fn, []); if (typeof s.init === 'function') s.init(); io.target = s; put(null); return; }
      // The value in a0 (or alone in json), the timestamp in a1.
      case 3: io.target.accumulate(io.n < 0 ? parse(io.json, revive) : io.a0, new DateC(io.a1)); put(null); return;
      case 4: io.target.deaccumulate(io.n < 0 ? parse(io.json, revive) : io.a0, new DateC(io.a1)); put(null); return;
      case 5: put(io.target.computeResult()); return;
      case 6: {
        const s = io.target, out = {};
        for (const k of keys(s)) { const v = s[k]; if (typeof v !== 'function') out[k] = v; }
        io.kind = 0; io.v = stringify(out, replace); return;
      }
      case 7: {
        const s = construct(io.fn, []), saved = parse(io.json, revive);
        for (const k of keys(saved)) s[k] = saved[k];
        io.target = s; put(null); return;
      }
      case 8: {
        const s = construct(io.fn, []), has = [];
        for (const m of ['init', 'accumulate', 'deaccumulate', 'deaccumulateState', 'computeResult']) if (typeof s[m] === 'function') has.push(m);
        io.kind = 0; io.v = has.join(','); return;
      }
      case 9: io.kind = 0; io.v = describe(io.target); io.target = undefined; return;
    }
  };
  const invoke = function () {
    expired = false; count = 0; deadline = now() + limitMs;
    try { run(); }
    catch (e) {
      if (e === TIMEOUT) { io.kind = 4; io.v = null; }
      else { let m; try { m = describe(e); } catch (_) { m = 'an exception'; } io.kind = 3; io.v = expired ? null : m; if (expired) io.kind = 4; }
    }
    finally { deadline = Infinity; expired = false; }
  };
  return { io, invoke };
})`;

export interface SandboxOptions {
  /** Per call: longer, and the call is stopped and counts as failed. */
  readonly timeLimitMs: number;
}

/** A loaded function file: its declarations, and calls into its context. */
export class JavaScriptSandbox {
  readonly source: InstrumentedSource;
  private readonly io: Io;
  private readonly invoke: () => void;

  constructor(readonly file: string, text: string, private readonly options: SandboxOptions) {
    const tick = `__omnistream_tick_${randomBytes(6).toString('hex')}`;
    this.source = instrumentSource(file, text, tick);
    const context = createContext({}, { codeGeneration: { strings: false, wasm: false }, name: file });
    const start = new Script(bootstrap, { filename: 'omnistream:bootstrap' }).runInContext(context) as (t: string, l: number, d: string) => { io: Io; invoke: () => void };
    const exchange = start(tick, options.timeLimitMs, DATE_KEY);
    this.io = exchange.io;
    this.invoke = exchange.invoke;
    try {
      // The file's top level runs once, here, under vm's own timeout (one watchdog, not one per call).
      new Script(this.source.code, { filename: file }).runInContext(context, { timeout: Math.max(options.timeLimitMs, 1000) });
    } catch (e) {
      throw new FunctionFileError(file, { line: 1, column: 1 }, `failed while loading: ${this.describe(e)}`);
    }
  }

  /** Makes the global function `name` the one Call and Create use; false when it is none. */
  select(name: string): void {
    this.io.op = Op.Find;
    this.io.json = name;
    this.run();
  }

  call(args: readonly Value[]): Value {
    this.io.op = Op.Call;
    this.setArgs(args);
    return this.run();
  }

  /** Which of the aggregate methods `new main()` sets. */
  aggregateShape(): string[] {
    this.io.op = Op.Shape;
    const text = this.run();
    return typeof text === 'string' && text !== '' ? text.split(',') : [];
  }

  /** A new aggregate instance (new main(), then init()): an opaque handle of the context. */
  create(): unknown {
    this.io.op = Op.Create;
    this.run();
    return this.io.target;
  }

  restore(saved: string): unknown {
    this.io.op = Op.Restore;
    this.io.json = saved;
    this.run();
    return this.io.target;
  }

  accumulate(instance: unknown, value: Value, timestamp: number, remove: boolean): void {
    const io = this.io;
    io.op = remove ? Op.Deaccumulate : Op.Accumulate;
    io.target = instance;
    if (isPrimitive(value)) {
      io.n = 1;
      io.a0 = value;
    } else {
      io.n = -1;
      io.json = JSON.stringify(value, encodeDates);
    }
    io.a1 = timestamp;
    this.run();
  }

  result(instance: unknown): Value {
    this.io.op = Op.Result;
    this.io.target = instance;
    return this.run();
  }

  save(instance: unknown): string {
    this.io.op = Op.Save;
    this.io.target = instance;
    return this.run() as string;
  }

  private setArgs(args: readonly Value[]): void {
    const io = this.io;
    let primitive = args.length <= 4;
    for (let i = 0; primitive && i < args.length; i++) primitive = isPrimitive(args[i]!);
    if (primitive) {
      io.n = args.length;
      io.a0 = args[0];
      io.a1 = args[1];
      io.a2 = args[2];
      io.a3 = args[3];
    } else {
      io.n = -1;
      io.json = JSON.stringify(args, encodeDates);
    }
  }

  private run(): Value {
    this.invoke();
    const io = this.io;
    switch (io.kind) {
      case Kind.Value: return io.v as Value;
      case Kind.Date: return new DateTime(io.v as number);
      case Kind.Json: return JSON.parse(io.v as string, decodeDates) as Value;
      case Kind.Error: throw new UserFunctionFailure(String(io.v));
      case Kind.Timeout: throw new UserFunctionFailure(`ran longer than its limit of ${this.options.timeLimitMs} ms and was stopped`, true);
      default: throw new UserFunctionFailure('returned nothing the query can read');
    }
  }

  /** A load failure's text: vm's own errors read here, anything else described inside the context. */
  private describe(e: unknown): string {
    // vm's timeout error is not of this realm's Error; its code is an own data property (a Proxy,
    // which only user code makes, is not asked: its traps would run outside any time limit).
    const code = e !== null && typeof e === 'object' && !types.isProxy(e) ? Object.getOwnPropertyDescriptor(e, 'code')?.value : undefined;
    if (code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return `the top level ran longer than ${Math.max(this.options.timeLimitMs, 1000)} ms`;
    this.io.op = Op.Describe;
    this.io.target = e;
    try {
      return String(this.run());
    } catch {
      return 'an exception';
    }
  }
}

export { FunctionFileError, type SourcePlace };

function isPrimitive(v: Value): boolean {
  return v === null || typeof v !== 'object';
}

function encodeDates(this: unknown, _key: string, v: unknown): unknown {
  return v instanceof DateTime ? { [DATE_KEY]: v.ms } : v;
}

function decodeDates(_key: string, v: unknown): unknown {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const ms = (v as Record<string, unknown>)[DATE_KEY];
    if (typeof ms === 'number' && Object.keys(v).length === 1) return new DateTime(ms);
  }
  return v;
}
