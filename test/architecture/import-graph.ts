// Reads the import graph of src/ and checks it against the layer order: imports run downward
// (ARCHITECTURE §2), no two sibling folders import each other (directly or round a cycle), and the
// pure layers import no Node I/O and no package.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

export interface Import {
  /** Both relative to the source root, with '/' separators. */
  readonly from: string;
  /** A resolved source path for a relative import; the specifier itself for a package or node: module. */
  readonly to: string;
  readonly external: boolean;
}

export interface Rules {
  /** Top-level units of the source root (folders, or files at the root), highest layer first. */
  readonly layers: readonly (readonly string[])[];
  /** Units that must stay pure: no node: module outside `allowedNodeModules`, no package. */
  readonly pure: readonly string[];
  readonly allowedNodeModules: readonly string[];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

const posix = (p: string): string => p.split(sep).join('/');

/** Every import of every .ts file under `root` (static, type-only, re-exports and dynamic). */
export function readImports(root: string): Import[] {
  return sourceFiles(root).flatMap((file) => {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    return info.importedFiles.map(({ fileName }) => {
      const external = !fileName.startsWith('.');
      const to = external ? fileName : posix(relative(root, resolve(dirname(file), fileName.replace(/\.js$/, '.ts'))));
      return { from: posix(relative(root, file)), to, external };
    });
  });
}

/** The top-level unit a source path belongs to: its first folder, or the file itself at the root. */
export function unitOf(path: string): string {
  return path.split('/')[0]!;
}

/** Plain-language findings; empty when the graph keeps the rules. */
export function checkImports(imports: readonly Import[], rules: Rules): string[] {
  const problems: string[] = [];
  const layerOf = new Map<string, number>();
  rules.layers.forEach((units, i) => units.forEach((u) => layerOf.set(u, i)));
  const seenUnits = new Set<string>();
  for (const imp of imports) {
    const from = unitOf(imp.from);
    seenUnits.add(from);
    if (imp.external) {
      if (rules.pure.includes(from) && (!imp.to.startsWith('node:') || !rules.allowedNodeModules.includes(imp.to))) {
        problems.push(`${imp.from} imports ${imp.to}, but ${from}/ is pure (no Node I/O, no packages)`);
      }
      continue;
    }
    const to = unitOf(imp.to);
    const a = layerOf.get(from), b = layerOf.get(to);
    if (a === undefined || b === undefined) continue;
    if (b < a) problems.push(`${imp.from} imports ${imp.to}: ${from} (layer ${a + 1}) may not import ${to} (layer ${b + 1}), which sits above it`);
  }
  for (const unit of seenUnits) {
    if (!layerOf.has(unit)) problems.push(`${unit} is in no layer: place it in the layer order`);
  }
  problems.push(...folderCycles(imports));
  return problems;
}

/**
 * Cycles among siblings: for each import between files, the two children of their deepest common
 * folder that contain them. A cycle counts when it passes through a folder (files of one folder
 * may use each other).
 */
function folderCycles(imports: readonly Import[]): string[] {
  const edges = new Map<string, Map<string, string>>(); // sibling path → sibling path → an example import
  const isFolder = new Set<string>();
  for (const imp of imports) {
    if (imp.external) continue;
    const a = imp.from.split('/'), b = imp.to.split('/');
    let i = 0;
    while (i < a.length - 1 && i < b.length - 1 && a[i] === b[i]) i++;
    const from = a.slice(0, i + 1).join('/'), to = b.slice(0, i + 1).join('/');
    if (from === to) continue;
    if (i < a.length - 1) isFolder.add(from);
    if (i < b.length - 1) isFolder.add(to);
    let out = edges.get(from);
    if (!out) edges.set(from, (out = new Map()));
    if (!out.has(to)) out.set(to, `${imp.from} → ${imp.to}`);
  }
  const problems: string[] = [];
  for (const component of stronglyConnected(edges)) {
    if (component.length < 2 || !component.some((n) => isFolder.has(n))) continue;
    const examples = component.flatMap((n) => [...(edges.get(n) ?? [])].filter(([to]) => component.includes(to)).map(([, e]) => e));
    problems.push(`import cycle between ${component.sort().join(', ')}: ${examples.join('; ')}`);
  }
  return problems;
}

/** Tarjan's algorithm: the strongly connected components of a directed graph. */
function stronglyConnected(edges: ReadonlyMap<string, ReadonlyMap<string, string>>): string[][] {
  const index = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], onStack = new Set<string>(), out: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next); low.set(v, next); next++;
    stack.push(v); onStack.add(v);
    for (const w of edges.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      out.push(component);
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return out;
}
