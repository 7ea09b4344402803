// Where reference data comes from. A source loads a whole snapshot; the catalogue decides when
// (a file when it changes, a query on its interval) and keeps the versions.
import type { Row } from '../query/index.js';

export interface ReferenceSource {
  /** For status and errors: the file path, or the database and query. */
  readonly description: string;
  /** How often the catalogue asks for a new snapshot. */
  readonly refreshMs: number;
  /**
   * Whether a load may bring something new; a file answers from its size and time, so an
   * unchanged catalogue is not parsed again. Sources that cannot tell answer true.
   */
  mayHaveChanged(): Promise<boolean>;
  /** The whole snapshot; rejects (ReferenceDataError for bad data) without side effects. */
  load(): Promise<Row[]>;
  close(): Promise<void>;
}
