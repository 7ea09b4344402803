// One reference input through time: each snapshot that differed from the one before, with the
// time it became valid. A job joins an event with the rows valid at the event's time, so a replay
// of last week joins last week's catalogue.
import { createHash } from 'node:crypto';
import type { Row } from '../query/index.js';

export interface ReferenceVersion {
  /** When this snapshot became valid (epoch ms): the log's horizon when it was loaded. */
  readonly validFromMs: number;
  /** Identifies the content: a reload with the same rows makes no new version. */
  readonly hash: string;
  readonly rows: readonly Row[];
}

/** Rows handled between two yields to the event loop: a 100k-row catalogue never stalls ingestion. */
const SLICE = 5_000;

/**
 * Hashes rows and finds the ones unchanged since the previous version, so versions share them
 * (a week of daily catalogues costs the changes, not seven catalogues).
 */
export async function digest(rows: readonly Row[], previous?: ReferenceVersion): Promise<{ hash: string; rows: Row[] }> {
  const known = new Map<string, Row>();
  if (previous) {
    for (let i = 0; i < previous.rows.length; i++) {
      known.set(JSON.stringify(previous.rows[i]), previous.rows[i]!);
      if (i % SLICE === SLICE - 1) await new Promise((resolve) => setImmediate(resolve));
    }
  }
  const hash = createHash('sha256');
  const shared: Row[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const text = JSON.stringify(rows[i]);
    hash.update(text).update('\n');
    shared[i] = known.get(text) ?? rows[i]!;
    if (i % SLICE === SLICE - 1) await new Promise((resolve) => setImmediate(resolve));
  }
  return { hash: hash.digest('base64url'), rows: shared };
}

const NO_ROWS: readonly Row[] = Object.freeze([]);

export class VersionedReference {
  /** Ascending by validFromMs. */
  private versions: ReferenceVersion[] = [];

  constructor(readonly name: string) {}

  get latest(): ReferenceVersion | undefined {
    return this.versions[this.versions.length - 1];
  }

  get count(): number {
    return this.versions.length;
  }

  /**
   * The rows valid at `timeMs`. Before the first version, the first version's rows: the catalogue
   * existed before Omnistream first read it. The same array for the same version, so a join
   * indexes each version once.
   */
  rowsAt(timeMs: number): readonly Row[] {
    const v = this.versions;
    if (v.length === 0) return NO_ROWS;
    // Nearly every lookup is for the latest version.
    const last = v[v.length - 1]!;
    if (timeMs >= last.validFromMs) return last.rows;
    let lo = 0, hi = v.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (v[mid]!.validFromMs <= timeMs) lo = mid;
      else hi = mid - 1;
    }
    return v[lo]!.rows;
  }

  /** Adds a version; ignored (false) when it repeats the latest content or is not newer. */
  add(version: ReferenceVersion): boolean {
    const latest = this.latest;
    if (latest && (latest.hash === version.hash || version.validFromMs <= latest.validFromMs)) return false;
    this.versions.push(version);
    return true;
  }

  /** Forgets versions no longer valid at `beforeMs`, keeping the one valid then. */
  prune(beforeMs: number): number {
    let keepFrom = 0;
    while (keepFrom + 1 < this.versions.length && this.versions[keepFrom + 1]!.validFromMs <= beforeMs) keepFrom++;
    this.versions = this.versions.slice(keepFrom);
    return keepFrom;
  }
}
