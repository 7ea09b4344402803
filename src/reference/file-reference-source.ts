// A CSV or JSON file, reloaded when it changes (checked by size and modification time, and
// by content: a rewrite with the same content makes no new version).
import { readFile, stat } from 'node:fs/promises';
import type { Row } from '../query/index.js';
import { parseReferenceText, ReferenceDataError } from './reference-rows.js';
import type { ReferenceSource } from './reference-source.js';

/** How often the file is looked at; cheap, a stat. */
export const FILE_CHECK_MS = 2_000;

export class FileReferenceSource implements ReferenceSource {
  readonly refreshMs = FILE_CHECK_MS;
  private seen: string | undefined;

  constructor(readonly path: string) {}

  get description(): string {
    return this.path;
  }

  async mayHaveChanged(): Promise<boolean> {
    try {
      const st = await stat(this.path);
      return `${st.size}:${st.mtimeMs}:${st.ino}` !== this.seen;
    } catch {
      return true; // load() says what is wrong
    }
  }

  async load(): Promise<Row[]> {
    let text: string;
    let version: string;
    try {
      const st = await stat(this.path);
      version = `${st.size}:${st.mtimeMs}:${st.ino}`;
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      throw new ReferenceDataError(`cannot read ${this.path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    const rows = await parseReferenceText(text, this.path);
    this.seen = version;
    return rows;
  }

  async close(): Promise<void> {}
}
