// Operator state to JSON and back. State is built from plain data (numbers, strings, arrays,
// records, Maps, DateTimes); each non-primitive is tagged so nothing is confused on the way back.
// An event's metadata (EVENT_METADATA, not a field) travels with its record: an event held back
// by the ordering policy must read the same metadata after a restore as before.
import { DateTime, EVENT_METADATA } from '../model/values.js';

/**
 * A state that is not plain data (a JavaScript aggregate's instance) saves itself through this
 * method; it comes back as a SavedState holding that data, for its owner to revive.
 */
export const SAVE_STATE: unique symbol = Symbol('omnistream.saveState');

export class SavedState {
  constructor(readonly data: unknown) {}
}

export type EncodedState = null | boolean | string | number | readonly [tag: string, payload: unknown];

export function encodeState(v: unknown): EncodedState {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'boolean': case 'string': return v;
    case 'number': return Number.isFinite(v) ? v : ['n', String(v)];
    case 'object':
      if (v instanceof DateTime) return ['d', v.ms];
      if (typeof (v as { [SAVE_STATE]?: unknown })[SAVE_STATE] === 'function') return ['x', encodeState((v as { [SAVE_STATE]: () => unknown })[SAVE_STATE]())];
      if (v instanceof Map) return ['m', [...v].map(([k, x]) => [encodeState(k), encodeState(x)])];
      if (Array.isArray(v)) return ['a', v.map(encodeState)];
      {
        const fields = Object.entries(v).map(([k, x]) => [k, encodeState(x)]);
        const metadata = (v as { [EVENT_METADATA]?: unknown })[EVENT_METADATA];
        return metadata === undefined ? ['o', fields] : ['e', [fields, encodeState(metadata)]];
      }
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
    case 'x': return new SavedState(decodeState(payload));
    case 'o': return decodeRecord(payload as [string, unknown][]);
    case 'e': {
      const [fields, metadata] = payload as [[string, unknown][], unknown];
      const out = decodeRecord(fields);
      (out as { [EVENT_METADATA]?: unknown })[EVENT_METADATA] = decodeState(metadata);
      return out;
    }
    default: return undefined;
  }
}

function decodeRecord(fields: readonly [string, unknown][]): Record<string, unknown> {
  const out = Object.create(null) as Record<string, unknown>;
  for (const [k, x] of fields) out[k] = decodeState(x);
  return out;
}
