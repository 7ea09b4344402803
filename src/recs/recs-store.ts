// Where the recommender keeps what makes a restart exact: its log positions and the model that
// follows from them, committed together (a restart neither loses nor counts an event twice).
// The embedded adapter is recs.db (SQLite); a checkpoint writes only the records that changed.
import type { ModelChanges, ModelRecords } from './item-model.js';

export interface RecsCheckpoint {
  /** Per partition, the next sequence number to read. */
  readonly positions: readonly number[];
  readonly absorbed: number;
  readonly skipped: Readonly<Record<string, number>>;
}

export interface StoredModels {
  readonly checkpoint: RecsCheckpoint | undefined;
  /** Per tenant, every record kept (removed shoppers already gone). */
  readonly tenants: ReadonlyMap<string, ModelRecords>;
}

export interface RecsStore {
  load(): Promise<StoredModels>;
  /** Applies each tenant's changes and stores the checkpoint, in one transaction. */
  commit(checkpoint: RecsCheckpoint, changes: ReadonlyMap<string, ModelChanges>): Promise<void>;
  close(): Promise<void>;
}
