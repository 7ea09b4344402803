// A SQLite database's WAL checkpoints on a thread of their own (sqlite-log-checkpointer.ts): a
// checkpoint copies the WAL into the database file and fsyncs both, which on a busy disk takes
// hundreds of ms — left to SQLite's automatic checkpoint, the commit that crosses its threshold
// pays it on the writer's thread. The writer's connection must set `wal_autocheckpoint = 0`.
import type { Worker } from 'node:worker_threads';
import { siblingModule, startModuleThread } from './module-thread.js';
import type { CheckpointerMessage, CheckpointerOptions } from './sqlite-log-schema.js';

const CHECKPOINTER = siblingModule(import.meta.url, 'sqlite-log-checkpointer');

export class WalCheckpointer {
  private readonly thread: Worker;
  private readonly exited: Promise<void>;
  private closing = false;

  /** `onError` hears failures no request sees: a checkpoint that failed, the thread gone (the WAL then grows until a restart). */
  constructor(path: string, intervalMs: number, onError: (message: string) => void) {
    this.thread = startModuleThread(CHECKPOINTER, { path, intervalMs } satisfies CheckpointerOptions);
    this.thread.unref();
    this.thread.on('message', (m: CheckpointerMessage) => {
      if (m.type === 'warning') onError(m.message);
    });
    this.thread.on('error', (err) => onError(`the WAL checkpointer of ${path} failed: ${err.message}`));
    this.exited = new Promise((resolve) => this.thread.once('exit', () => {
      if (!this.closing) onError(`the WAL checkpointer of ${path} stopped; the WAL grows until a restart`);
      resolve();
    }));
  }

  /** A last checkpoint, then the thread ends. */
  async close(): Promise<void> {
    this.closing = true;
    this.thread.ref();
    this.thread.postMessage('close');
    await this.exited;
  }
}
