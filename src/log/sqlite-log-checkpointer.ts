// The embedded log's checkpointer thread: it copies the WAL into the database file on a schedule.
// A checkpoint fsyncs both files and can take milliseconds on a busy disk, so it runs here, on its
// own connection, while the event loop keeps committing (a PASSIVE checkpoint never blocks a writer).
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { configureConnection, type CheckpointerOptions, type CheckpointerMessage } from './sqlite-log-schema.js';

const options = workerData as CheckpointerOptions;
const port = parentPort!;
const db = new Database(options.path);
configureConnection(db);

function checkpoint(): void {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    port.postMessage({ type: 'warning', message: `WAL checkpoint failed: ${String(err)}` } satisfies CheckpointerMessage);
  }
}

const timer = setInterval(checkpoint, options.intervalMs);

// The only request is to stop: a last checkpoint, so a clean shutdown leaves little WAL behind.
port.once('message', () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  port.postMessage({ type: 'closed' } satisfies CheckpointerMessage);
  port.close();
});
