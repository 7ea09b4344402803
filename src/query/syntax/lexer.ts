// Turns query text into tokens. Keywords are not distinguished here: the parser matches words
// case-insensitively, so a field may be named like a keyword whenever the grammar allows it.
import { QueryError, type SourcePosition } from '../model/errors.js';

export type TokenKind =
  | 'word'        // identifier or keyword, unquoted
  | 'quoted'      // [bracketed] or "double-quoted" identifier
  | 'string'      // 'single-quoted' literal
  | 'number'
  | 'symbol'
  | 'end';

export interface Token {
  readonly kind: TokenKind;
  /** Identifier or literal text with quotes removed; symbols as written. */
  readonly text: string;
  readonly position: SourcePosition;
}

const symbols = ['<>', '!=', '<=', '>=', '!<', '!>', '=', '<', '>', '(', ')', ',', '.', '*', '+', '-', '/', '%', '&', '|', '^', '~', ';', '{', '}', '?'];

export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const here = (at: number): SourcePosition => ({ line, column: at - lineStart + 1 });
  const newline = (at: number): void => { line++; lineStart = at + 1; };

  while (i < source.length) {
    const c = source[i]!;
    if (c === '\n') { newline(i); i++; continue; }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v' || c === '\u00a0' || c === '\ufeff') { i++; continue; }
    if (c === '-' && source[i + 1] === '-') {
      while (i < source.length && source[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && source[i + 1] === '*') {
      const start = here(i);
      i += 2;
      while (i < source.length && !(source[i] === '*' && source[i + 1] === '/')) {
        if (source[i] === '\n') newline(i);
        i++;
      }
      if (i >= source.length) throw new QueryError('UNTERMINATED_COMMENT', 'block comment is not closed; expected */', start);
      i += 2;
      continue;
    }
    const position = here(i);
    if (c === "'") {
      let text = '';
      i++;
      for (;;) {
        if (i >= source.length) throw new QueryError('UNTERMINATED_STRING', "string literal is not closed; expected '", position);
        const d = source[i]!;
        if (d === "'") {
          if (source[i + 1] === "'") { text += "'"; i += 2; continue; }
          i++;
          break;
        }
        if (d === '\n') newline(i);
        text += d;
        i++;
      }
      tokens.push({ kind: 'string', text, position });
      continue;
    }
    if (c === '[' || c === '"') {
      const close = c === '[' ? ']' : '"';
      let text = '';
      i++;
      for (;;) {
        if (i >= source.length || source[i] === '\n') {
          throw new QueryError('UNTERMINATED_IDENTIFIER', `delimited identifier is not closed; expected ${close}`, position);
        }
        const d = source[i]!;
        if (d === close) {
          // A doubled closing character stands for itself, as in T-SQL.
          if (source[i + 1] === close) { text += close; i += 2; continue; }
          i++;
          break;
        }
        text += d;
        i++;
      }
      tokens.push({ kind: 'quoted', text, position });
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(source[i + 1] ?? ''))) {
      const start = i;
      while (isDigit(source[i] ?? '')) i++;
      if (source[i] === '.' && isDigit(source[i + 1] ?? '')) { i++; while (isDigit(source[i] ?? '')) i++; }
      else if (source[i] === '.' && !isWordStart(source[i + 1] ?? '')) i++;
      if ((source[i] === 'e' || source[i] === 'E') && /[+-]?\d/.test(source.slice(i + 1, i + 3))) {
        i += source[i + 1] === '+' || source[i + 1] === '-' ? 2 : 1;
        while (isDigit(source[i] ?? '')) i++;
      }
      tokens.push({ kind: 'number', text: source.slice(start, i), position });
      continue;
    }
    if (isWordStart(c)) {
      const start = i;
      while (i < source.length && isWordPart(source[i]!)) i++;
      tokens.push({ kind: 'word', text: source.slice(start, i), position });
      continue;
    }
    const symbol = symbols.find((s) => source.startsWith(s, i));
    if (symbol === undefined) throw new QueryError('UNEXPECTED_CHARACTER', `unexpected character '${c}'`, position);
    tokens.push({ kind: 'symbol', text: symbol, position });
    i += symbol.length;
  }
  tokens.push({ kind: 'end', text: '', position: here(i) });
  return tokens;
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

function isWordStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c === '@' || c === '#' || c > '\u007f';
}

function isWordPart(c: string): boolean {
  return isWordStart(c) || isDigit(c) || c === '$';
}
