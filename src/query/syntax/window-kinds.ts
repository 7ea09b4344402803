// The windows of GROUP BY, each kind listed once: the function names that write it and the
// durations it takes. The parser reads windows through this table and the semantic checks know
// a window call by it, so a kind added here is recognised everywhere; `WindowKind` (the AST's
// union) makes every stage that handles kinds fail to compile until it handles the new one.
import type { WindowKind } from './ast.js';

/** The kinds written as a function call; the snapshot window is written System.Timestamp(). */
export type FunctionWindowKind = Exclude<WindowKind, 'snapshot'>;

export interface WindowFunction {
  /** As the documentation spells it, for messages. */
  readonly displayName: string;
  /** Lower-cased, as a CallExpression names the function. */
  readonly names: readonly string[];
  /** The durations in positional order; `Duration(…)`, `Hop(…)`, … name them in the other spelling. */
  readonly durations: readonly string[];
  /** Whether an `Offset(…)` (or a last positional size) may shift the windows. */
  readonly offset: boolean;
}

export const windowFunctions: { readonly [K in FunctionWindowKind]: WindowFunction } = {
  tumbling: { displayName: 'TumblingWindow', names: ['tumblingwindow', 'tumbling'], durations: ['duration'], offset: true },
  hopping: { displayName: 'HoppingWindow', names: ['hoppingwindow', 'hopping'], durations: ['duration', 'hop'], offset: true },
  sliding: { displayName: 'SlidingWindow', names: ['slidingwindow', 'sliding'], durations: ['duration'], offset: false },
  session: { displayName: 'SessionWindow', names: ['sessionwindow', 'session'], durations: ['timeout', 'maxduration'], offset: false },
};

/** `Windows(…)` with several window definitions, and its `Window(…)` items: not implemented. */
const multipleWindowsNames: readonly string[] = ['windows', 'window'];

const kindByName = new Map<string, FunctionWindowKind>(
  (Object.keys(windowFunctions) as FunctionWindowKind[]).flatMap((kind) => windowFunctions[kind].names.map((n) => [n, kind] as const)),
);

/** The window kind a function name writes, if it writes one. */
export function windowKindOf(name: string): FunctionWindowKind | undefined {
  return kindByName.get(name);
}

/** Whether a call is a window (or part of Windows(…)), which only GROUP BY may hold. */
export function isWindowCall(name: string): boolean {
  return kindByName.has(name) || multipleWindowsNames.includes(name);
}

/** The windows written as functions, for messages: `TumblingWindow, HoppingWindow, …`. */
export function windowFunctionNames(): string {
  return Object.values(windowFunctions).map((w) => w.displayName).join(', ');
}
