// package.json is read, not imported: the build's rootDir is src/, and one relative URL finds it
// from src/cli/ and dist/cli/ alike.
import { readFileSync } from 'node:fs';

export function readVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}
