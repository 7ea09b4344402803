// Where reference versions are kept across restarts, so a replay after a restart still joins the
// catalogue that was valid then. Every backend passes test/reference/reference-version-store.contract.ts.
import type { ReferenceVersion } from './versioned-reference.js';

export interface ReferenceVersionStore {
  /** Every kept version of `name`, ascending by validFromMs. */
  versions(name: string): Promise<ReferenceVersion[]>;
  save(name: string, version: ReferenceVersion): Promise<void>;
  /** Deletes versions of `name` valid only before `beforeMs` (the one valid at it stays). */
  prune(name: string, beforeMs: number): Promise<void>;
  close(): Promise<void>;
}
