// Operator state to JSON and back. State is built from plain data (numbers, strings, arrays,
// records, Maps, DateTimes); each non-primitive is tagged so nothing is confused on the way back.
import { DateTime } from '../model/values.js';

export type EncodedState = null | boolean | string | number | readonly [tag: string, payload: unknown];

export function encodeState(v: unknown): EncodedState {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'boolean': case 'string': return v;
    case 'number': return Number.isFinite(v) ? v : ['n', String(v)];
    case 'object':
      if (v instanceof DateTime) return ['d', v.ms];
      if (v instanceof Map) return ['m', [...v].map(([k, x]) => [encodeState(k), encodeState(x)])];
      if (Array.isArray(v)) return ['a', v.map(encodeState)];
      return ['o', Object.entries(v).map(([k, x]) => [k, encodeState(x)])];
    default:
      return null;
  }
}

export function decodeState(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  const [tag, payload] = v as [string, unknown];
  switch (tag) {
    case 'n': return Number(payload);
    case 'd': return new DateTime(payload as number);
    case 'm': return new Map((payload as [unknown, unknown][]).map(([k, x]) => [decodeState(k), decodeState(x)]));
    case 'a': return (payload as unknown[]).map(decodeState);
    case 'o': {
      const out = Object.create(null) as Record<string, unknown>;
      for (const [k, x] of payload as [string, unknown][]) out[k] = decodeState(x);
      return out;
    }
    default: return undefined;
  }
}
