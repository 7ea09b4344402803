// Runs the command line as an operator does: a real process, its output and its exit code.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
// Resolved here, so the process may run in any working directory.
const TSX = import.meta.resolve('tsx');
const run = promisify(execFile);

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** OMNISTREAM_OWNER_KEY is cleared, so the caller's environment cannot decide a test. */
export async function omnistream(args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', TSX, CLI, ...args], { env: { ...process.env, OMNISTREAM_OWNER_KEY: '', ...env }, cwd });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
