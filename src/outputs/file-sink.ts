// Rows appended to a file as JSON lines, rotated by size. Each line carries the row's identity;
// after a crash the sink reads the last line it wrote and skips the rows up to it, so a batch
// redelivered from the ledger is not written twice.
import { open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { rowKey, type OutputRow } from './output-row.js';
import type { OutputSink } from './output-sink.js';

export interface FileSinkOptions {
  readonly path: string;
  /** A file is rotated once it reaches this size. */
  readonly maxBytes: number;
  /** Rotated files kept; the oldest beyond it are deleted. */
  readonly maxFiles: number;
}

/** Bytes read from the end of the file to find its last line. */
const TAIL_BYTES = 1 << 20;

export class FileSink implements OutputSink {
  private handle: FileHandle | undefined;
  private size = 0;
  /** The key of the last line written before this process started; rows up to it are skipped once. */
  private resumeAfter: string | null | undefined;

  constructor(private readonly options: FileSinkOptions) {
    mkdirSync(dirname(options.path), { recursive: true });
  }

  private async file(): Promise<FileHandle> {
    if (this.handle) return this.handle;
    this.handle = await open(this.options.path, 'a');
    this.size = (await this.handle.stat()).size;
    this.resumeAfter ??= await this.lastKey();
    return this.handle;
  }

  private async lastKey(): Promise<string | null> {
    const size = this.size;
    if (size === 0) return null;
    const fh = await open(this.options.path, 'r');
    try {
      const length = Math.min(size, TAIL_BYTES);
      const buf = Buffer.alloc(length);
      await fh.read(buf, 0, length, size - length);
      const lines = buf.toString('utf8').split('\n').filter((l) => l.trim() !== '');
      const last = lines[lines.length - 1];
      if (!last) return null;
      try {
        return (JSON.parse(last) as { key?: string }).key ?? null;
      } catch {
        return null; // a line cut short by the crash: nothing to skip
      }
    } finally {
      await fh.close();
    }
  }

  async write(rows: readonly OutputRow[]): Promise<void> {
    const fh = await this.file();
    let from = 0;
    if (this.resumeAfter) {
      const at = rows.findIndex((r) => rowKey(r) === this.resumeAfter);
      if (at >= 0) from = at + 1;
      this.resumeAfter = null;
    }
    if (from >= rows.length) return;
    const text = rows.slice(from).map((r) => JSON.stringify({ key: rowKey(r), job: r.job, output: r.output, tenant: r.tenant, timestamp: new Date(r.timestampMs).toISOString(), row: r.row })).join('\n') + '\n';
    const bytes = Buffer.from(text, 'utf8');
    await fh.write(bytes);
    await fh.datasync();
    this.size += bytes.length;
    if (this.size >= this.options.maxBytes) await this.rotate();
  }

  private async rotate(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    const { path } = this.options;
    const ext = extname(path);
    const stem = basename(path, ext);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    await rename(path, join(dirname(path), `${stem}.${stamp}${ext}`));
    const rotated = (await readdir(dirname(path))).filter((f) => f.startsWith(`${stem}.`) && f.endsWith(ext) && f !== basename(path)).sort();
    for (const old of rotated.slice(0, Math.max(0, rotated.length - this.options.maxFiles))) await unlink(join(dirname(path), old)).catch(() => {});
  }

  async forget(): Promise<void> {
    // A file keeps its history: a replay appends the recomputed rows (same keys) after it.
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }

  /** The current file's size, for status. */
  async bytes(): Promise<number> {
    return (await stat(this.options.path).catch(() => ({ size: 0 }))).size;
  }
}
