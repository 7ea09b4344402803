// CAST, TRY_CAST and the implicit conversions the operators need.
import { DateTime, formatDateTime, isRecord, parseDateTime, toJson, type TypeName, type Value } from './values.js';

/** A value that cannot be converted; caught where the expression meets its event. */
export class ConversionFailure {
  constructor(readonly message: string) {}
}

export function castValue(v: Value, type: TypeName): Value | ConversionFailure {
  if (v === null) return null;
  switch (type) {
    case 'bigint': {
      if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : fail(v, type);
      if (typeof v === 'boolean') return v ? 1 : 0;
      if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) return Number(v);
      return fail(v, type);
    }
    case 'float': {
      if (typeof v === 'number') return v;
      if (typeof v === 'boolean') return v ? 1 : 0;
      if (typeof v === 'string') {
        const n = parseNumber(v);
        return n === null ? fail(v, type) : n;
      }
      return fail(v, type);
    }
    case 'nvarchar(max)':
      if (typeof v === 'string') return v;
      if (typeof v === 'number') return String(v);
      if (typeof v === 'boolean') return v ? '1' : '0';
      if (v instanceof DateTime) return formatDateTime(v);
      return JSON.stringify(toJson(v));
    case 'datetime': {
      if (v instanceof DateTime) return v;
      if (typeof v === 'string') {
        const ms = parseDateTime(v);
        return ms === null ? fail(v, type) : new DateTime(ms);
      }
      return fail(v, type);
    }
    case 'bit':
      if (typeof v === 'boolean') return v;
      if (typeof v === 'number') return v !== 0;
      if (typeof v === 'string') {
        const s = v.trim().toLowerCase();
        if (s === 'true' || s === '1') return true;
        if (s === 'false' || s === '0') return false;
      }
      return fail(v, type);
    case 'record':
      return isRecord(v) ? v : fail(v, type);
    case 'array':
      return Array.isArray(v) ? v : fail(v, type);
  }
}

/** At most 40 characters of a value's text, for a message: a large event makes no large diagnostic. */
export function shortened(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function fail(v: Value, type: TypeName): ConversionFailure {
  const shown = typeof v === 'string' ? `'${shortened(v)}'` : shortened(JSON.stringify(toJson(v)));
  return new ConversionFailure(`cannot convert ${shown} to ${type}`);
}

/** A decimal number written as text; NaN, Infinity and hex are not numbers here. */
function parseNumber(s: string): number | null {
  const t = s.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return null;
  return Number(t);
}

/** Numbers for arithmetic: bits count as 1/0, numeric text is not converted implicitly. */
export function toNumber(v: Value): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return null;
}

/** Text for string functions: numbers and bits are formatted, other types are not text. */
export function toText(v: Value): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (v instanceof DateTime) return formatDateTime(v);
  return null;
}
