// A module started on a thread of its own, the same way whether the server runs built (dist/, .js)
// or from source under tsx (tests, `npx tsx src/cli.ts`, .ts): the log's threads and the
// recommender's model use it.
import { Worker } from 'node:worker_threads';

/** The module `name` beside the caller's (`import.meta.url`): its .ts when the caller runs from source. */
export function siblingModule(callerUrl: string, name: string): URL {
  return new URL(`./${name}${callerUrl.endsWith('.ts') ? '.ts' : '.js'}`, callerUrl);
}

/** From source, the thread registers tsx itself: workers do not inherit the loader hooks. */
export function startModuleThread(module: URL, workerData: unknown): Worker {
  if (!module.pathname.endsWith('.ts')) return new Worker(module, { workerData });
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(module.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}
