// PATTERN compiled into a small program for a Pike-style NFA: each instruction either consumes
// one event as a pattern variable, or moves between instructions without consuming (split,
// jump), or accepts. A split's first branch is the preferred one, which is how greedy and
// reluctant quantifiers and the left-to-right preference of alternation are kept: the matcher runs
// its threads in preference order and the first to accept wins. Counted repetitions are unrolled,
// so the program needs no counters and a thread is just a position (plus its history).
import { QueryError } from '../model/errors.js';
import type { PatternNode } from '../syntax/match-recognize-syntax.js';

export type Instruction =
  | { readonly op: 'variable'; readonly variable: number; readonly next: number }
  | { readonly op: 'split'; readonly first: number; readonly second: number }
  | { readonly op: 'accept' };

export interface PatternProgram {
  readonly instructions: readonly Instruction[];
  readonly start: number;
}

/** Unrolled repetitions make programs grow; past this the pattern is refused. */
export const maxProgramSize = 10_000;

/** `variableOf` gives each variable's index (the caller has checked every name is defined). */
export function compilePattern(root: PatternNode, variableOf: (name: string) => number): PatternProgram {
  const instructions: Instruction[] = [];
  const emit = (i: Instruction): number => {
    if (instructions.length >= maxProgramSize) {
      throw new QueryError('INVALID_ARGUMENT', `the pattern unrolls into more than ${maxProgramSize} steps; lower its repetition bounds`, root.position);
    }
    instructions.push(i);
    return instructions.length - 1;
  };
  // Each node compiles to code that matches it, then continues at `next`; it returns its entry.
  const compile = (node: PatternNode, next: number): number => {
    switch (node.kind) {
      case 'variable':
        return emit({ op: 'variable', variable: variableOf(node.name.name), next });
      case 'sequence': {
        let entry = next;
        for (let i = node.items.length - 1; i >= 0; i--) entry = compile(node.items[i]!, entry);
        return entry;
      }
      case 'alternation': {
        const entries = node.options.map((o) => compile(o, next));
        let entry = entries[entries.length - 1]!;
        for (let i = entries.length - 2; i >= 0; i--) entry = emit({ op: 'split', first: entries[i]!, second: entry });
        return entry;
      }
      case 'repeat': {
        const { item, min, max, greedy } = node;
        const choice = (body: number, skip: number): Instruction => (greedy ? { op: 'split', first: body, second: skip } : { op: 'split', first: skip, second: body });
        let entry: number;
        if (max === Infinity) {
          // A loop: the split is emitted first so the body can continue back to it.
          const loop = emit({ op: 'split', first: -1, second: -1 });
          const body = compile(item, loop);
          instructions[loop] = choice(body, next);
          entry = loop;
        } else {
          // (x (x (x)?)?)? for the optional copies, innermost first.
          entry = next;
          for (let k = 0; k < max - min; k++) entry = emit(choice(compile(item, entry), next));
        }
        for (let k = 0; k < min; k++) entry = compile(item, entry);
        return entry;
      }
    }
  };
  const accept = emit({ op: 'accept' });
  return { instructions, start: compile(root, accept) };
}
