// A function file's source, parsed (acorn) and checked, with a time check inserted at the start of
// every loop body and every function body. A call that runs too long always passes through one of
// them again, and the check then throws: that is how a loop in a user function is stopped without
// vm's per-call `timeout`, which starts a watchdog thread per call (~100 µs, more than the call).
import { parse, type Node, type Options } from 'acorn';

export interface SourcePlace {
  readonly line: number;
  readonly column: number;
}

/** A function file that cannot be used: where (1-based line and column) and why. */
export class FunctionFileError extends Error {
  override readonly name = 'FunctionFileError';
  constructor(readonly file: string, readonly place: SourcePlace, readonly reason: string) {
    super(`${file}:${place.line}:${place.column}: ${reason}`);
  }
}

export interface InstrumentedSource {
  readonly code: string;
  /** The function declarations at the top level of the file, in order. */
  readonly functions: readonly { readonly name: string; readonly place: SourcePlace }[];
}

interface AnyNode extends Node {
  [key: string]: unknown;
}

const parseOptions: Options = { ecmaVersion: 'latest', sourceType: 'script', locations: true, allowReturnOutsideFunction: false };

const loops = new Set(['ForStatement', 'ForInStatement', 'ForOfStatement', 'WhileStatement', 'DoWhileStatement']);
const functions = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);

/** `tick` names the global the inserted checks call. */
export function instrumentSource(file: string, source: string, tick: string): InstrumentedSource {
  let program: AnyNode;
  try {
    program = parse(source, parseOptions) as unknown as AnyNode;
  } catch (e) {
    const loc = (e as { loc?: { line: number; column: number } }).loc;
    const message = e instanceof Error ? e.message.replace(/ \(\d+:\d+\)$/, '') : String(e);
    throw new FunctionFileError(file, loc ? { line: loc.line, column: loc.column + 1 } : { line: 1, column: 1 }, `not valid JavaScript: ${message}`);
  }
  const inserts: { at: number; text: string }[] = [];
  const call = `${tick}();`;
  const visit = (node: AnyNode): void => {
    const placeOf = (): SourcePlace => ({ line: node.loc!.start.line, column: node.loc!.start.column + 1 });
    if (functions.has(node.type) && (node.async === true)) {
      throw new FunctionFileError(file, placeOf(), 'async functions are not supported: the query needs the result when it calls');
    }
    if (node.type === 'ImportExpression' || node.type === 'AwaitExpression') {
      throw new FunctionFileError(file, placeOf(), 'import() and await are not supported: a function runs isolated and synchronously');
    }
    if (loops.has(node.type)) guardBody(node.body as AnyNode, inserts, call);
    if (functions.has(node.type)) {
      const body = node.body as AnyNode;
      if (body.type === 'BlockStatement') {
        // After any directive prologue ('use strict' must stay first to keep its meaning).
        const statements = body.body as AnyNode[];
        let at = body.start + 1;
        for (const s of statements) {
          if (s.type === 'ExpressionStatement' && typeof s.directive === 'string') at = s.end;
          else break;
        }
        inserts.push({ at, text: call });
      } else {
        inserts.push({ at: body.start, text: `(${tick}(), ` }, { at: body.end, text: ')' });
      }
    }
    for (const key of Object.keys(node)) {
      if (key === 'loc') continue;
      const child = node[key];
      if (Array.isArray(child)) for (const c of child) { if (isNode(c)) visit(c); }
      else if (isNode(child)) visit(child);
    }
  };
  visit(program);
  let code = source;
  // From the end backwards, so earlier offsets stay valid. At one offset the text inserted later
  // (an inner construct's closing bracket) must come first, so it is applied last.
  inserts.map((x, i) => ({ ...x, i })).sort((a, b) => b.at - a.at || a.i - b.i).forEach(({ at, text }) => {
    code = code.slice(0, at) + text + code.slice(at);
  });
  const declared = (program.body as AnyNode[])
    .filter((s) => s.type === 'FunctionDeclaration')
    .map((s) => ({ name: (s.id as { name: string }).name, place: { line: s.loc!.start.line, column: s.loc!.start.column + 1 } }));
  return { code, functions: declared };
}

function guardBody(body: AnyNode, inserts: { at: number; text: string }[], call: string): void {
  if (body.type === 'BlockStatement') inserts.push({ at: body.start + 1, text: call });
  else inserts.push({ at: body.start, text: `{${call}` }, { at: body.end, text: '}' });
}

function isNode(v: unknown): v is AnyNode {
  return v !== null && typeof v === 'object' && typeof (v as { type?: unknown }).type === 'string';
}
