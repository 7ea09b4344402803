// Whether bytes are one JSON text, decided without building it. Every message stored is checked
// (the feed inlines JSON bodies), and JSON.parse allocated the whole value only to drop it: this
// scan allocates nothing but a small stack for nesting. It accepts exactly what JSON.parse accepts
// of the same text (RFC 8259); UTF-8 validity is left to the caller (buffer.isUtf8), since bytes
// ≥ 0x80 can only appear inside strings here.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** The bytes after a backslash that make a one-character escape: " \ / b f n r t. */
const SIMPLE_ESCAPES = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);
const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= ZERO && c <= NINE;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= ZERO && c <= NINE) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}

function skipWhitespace(b: Uint8Array, i: number): number {
  for (;;) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

/** The index after the string that starts at `i` (an opening quote), or -1. */
function scanString(b: Uint8Array, i: number): number {
  for (let j = i + 1; ;) {
    const c = b[j];
    if (c === undefined || c < 0x20) return -1;
    if (c === QUOTE) return j + 1;
    if (c !== BACKSLASH) {
      j++;
      continue;
    }
    const e = b[j + 1];
    if (e !== undefined && SIMPLE_ESCAPES.has(e)) j += 2;
    else if (e === 0x75 && isHex(b[j + 2]) && isHex(b[j + 3]) && isHex(b[j + 4]) && isHex(b[j + 5])) j += 6;
    else return -1;
  }
}

/** The index after the number that starts at `i`, or -1. */
function scanNumber(b: Uint8Array, i: number): number {
  let j = i;
  if (b[j] === MINUS) j++;
  if (b[j] === ZERO) j++;
  else if (isDigit(b[j])) while (isDigit(b[j])) j++;
  else return -1;
  if (b[j] === DOT) {
    j++;
    if (!isDigit(b[j])) return -1;
    while (isDigit(b[j])) j++;
  }
  if (b[j] === 0x65 || b[j] === 0x45) {
    j++;
    if (b[j] === PLUS || b[j] === MINUS) j++;
    if (!isDigit(b[j])) return -1;
    while (isDigit(b[j])) j++;
  }
  return j;
}

/** The index after `word` if it starts at `i`, or -1. */
function scanLiteral(b: Uint8Array, i: number, word: readonly number[]): number {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return -1;
  return i + word.length;
}

/** The index after the object key and its colon at `i`, with the whitespace after, or -1. */
function scanKey(b: Uint8Array, i: number): number {
  if (b[i] !== QUOTE) return -1;
  const end = scanString(b, i);
  if (end < 0) return -1;
  const colon = skipWhitespace(b, end);
  return b[colon] === COLON ? skipWhitespace(b, colon + 1) : -1;
}

export function isJsonText(b: Uint8Array): boolean {
  /** The open containers, innermost last: OPEN_OBJECT or OPEN_ARRAY. */
  const open: number[] = [];
  let i = skipWhitespace(b, 0);
  for (;;) {
    // A value starts at i.
    const c = b[i];
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      const close = c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY;
      const first = skipWhitespace(b, i + 1);
      if (b[first] === close) {
        i = first + 1;
      } else {
        open.push(c);
        i = c === OPEN_OBJECT ? scanKey(b, first) : first;
        if (i < 0) return false;
        continue;
      }
    } else if (c === QUOTE) {
      i = scanString(b, i);
    } else if (c === MINUS || isDigit(c)) {
      i = scanNumber(b, i);
    } else if (c === 0x74) {
      i = scanLiteral(b, i, TRUE);
    } else if (c === 0x66) {
      i = scanLiteral(b, i, FALSE);
    } else if (c === 0x6e) {
      i = scanLiteral(b, i, NULL);
    } else {
      return false;
    }
    if (i < 0) return false;
    // After a value: close what ends here, then either the next value or the end of the text.
    for (;;) {
      i = skipWhitespace(b, i);
      const inside = open[open.length - 1];
      if (inside === undefined) return i === b.length;
      const d = b[i];
      if (d === COMMA) {
        i = skipWhitespace(b, i + 1);
        if (inside === OPEN_OBJECT) i = scanKey(b, i);
        if (i < 0) return false;
        break;
      }
      if (d !== (inside === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY)) return false;
      open.pop();
      i++;
    }
  }
}
