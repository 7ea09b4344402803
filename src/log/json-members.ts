// Some members of a JSON object, cut from its text without parsing it: the log's reader thread
// does this for a reader that needs a few fields of each body (ScanOptions.fields), so the reader
// parses a few fields, not the whole event. Values are copied as written, so parsing the result
// gives exactly the values parsing the whole text gives (no number goes through a double and back).

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** The index after the string whose opening quote is at `i`; -1 when it does not end. */
function stringEnd(text: string, i: number): number {
  // indexOf runs natively: jump from quote to quote, and look back only for escapes.
  let j = text.indexOf('"', i + 1);
  while (j > 0 && text.charCodeAt(j - 1) === BACKSLASH) {
    let backslashes = 1;
    while (text.charCodeAt(j - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) break;
    j = text.indexOf('"', j + 1);
  }
  return j < 0 ? -1 : j + 1;
}

/** The index after the value starting at `i`; -1 when it does not end. */
function valueEnd(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === QUOTE) return stringEnd(text, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text.charCodeAt(j);
      if (d === QUOTE) {
        const end = stringEnd(text, j);
        if (end < 0) return -1;
        j = end - 1;
      } else if (d === 0x7b || d === 0x5b) depth++;
      else if ((d === 0x7d || d === 0x5d) && --depth === 0) return j + 1;
    }
    return -1;
  }
  let j = i;
  while (j < text.length) {
    const d = text.charCodeAt(j);
    if (d === COMMA || d === 0x7d || d === 0x5d || isSpace(d)) break;
    j++;
  }
  return j > i ? j : -1;
}

/**
 * The JSON text of the object `text` with only the members whose lower-cased name is in `fields`,
 * in their order (a repeated name repeated, so the last still wins). Null when `text` is not a
 * JSON object, or a member's name has an escape (rare; the caller then parses the whole text).
 * `text` must be valid JSON, as a body the log stores as JSON is.
 */
export function jsonMembers(text: string, fields: ReadonlySet<string>): string | null {
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== 0x7b) return null;
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) === 0x7d) return '{}';
  let out = '{';
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return null;
    const nameEnd = text.indexOf('"', i + 1);
    if (nameEnd < 0) return null;
    const name = text.slice(i + 1, nameEnd);
    if (name.includes('\\')) return null;
    const colon = skipSpace(text, nameEnd + 1);
    if (text.charCodeAt(colon) !== 0x3a) return null;
    const start = skipSpace(text, colon + 1);
    const end = valueEnd(text, start);
    if (end < 0) return null;
    if (fields.has(name) || fields.has(name.toLowerCase())) {
      if (out.length > 1) out += ',';
      out += `${text.slice(i, nameEnd + 1)}:${text.slice(start, end)}`;
    }
    i = skipSpace(text, end);
    const next = text.charCodeAt(i);
    if (next === 0x7d) return `${out}}`;
    if (next !== COMMA) return null;
    i = skipSpace(text, i + 1);
  }
}
