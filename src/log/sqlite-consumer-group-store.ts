// Consumer groups in their own SQLite file (`<data>/groups.db`), not in the log's database:
// checkpoint commits then never join the log's group-commit transactions or its WAL checkpoints,
// the log can be replaced (JetStream) without moving group state, and deleting a group never
// touches message storage. Nothing needs both in one transaction: a checkpoint is only a number.
import Database from 'better-sqlite3';
import { chmodSync, mkdirSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import type { PartitionId, SequenceNumber } from '../core/message.js';
import type { CommitOutcome, ConsumerGroup, ConsumerGroupStore, Positions } from './consumer-group-store.js';

interface GroupRow {
  name: string;
  created: number;
  generation: string;
}

export class SqliteConsumerGroupStore implements ConsumerGroupStore {
  private readonly db: Database.Database;
  private readonly getGroup: Database.Statement<[string], GroupRow>;
  private readonly listGroups: Database.Statement<[], GroupRow>;
  private readonly insertGroup: Database.Statement<[string, number, string]>;
  private readonly setGeneration: Database.Statement<[string, string]>;
  private readonly deleteGroup: Database.Statement<[string]>;
  private readonly getCheckpoints: Database.Statement<[string], { partition: number; seq: number }>;
  private readonly clearCheckpoints: Database.Statement<[string]>;
  private readonly putCheckpoint: Database.Statement<[string, number, number]>;
  private readonly advanceCheckpoint: Database.Statement<[string, number, number]>;
  private readonly writeStart: (name: string, start: Positions) => void;
  private readonly commitTx: (name: string, generation: string, positions: Positions) => CommitOutcome;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    // It holds the secret that signs cursors: owner-only, like keys.json.
    chmodSync(path, 0o600);
    this.db.pragma('journal_mode = WAL');
    // As the log: a commit is in the OS before the 204, so it survives kill -9.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS groups_meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS consumer_groups (name TEXT PRIMARY KEY, created INTEGER NOT NULL, generation TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS checkpoints (grp TEXT NOT NULL, partition INTEGER NOT NULL, seq INTEGER NOT NULL,
        PRIMARY KEY (grp, partition)) WITHOUT ROWID;
    `);
    this.getGroup = this.db.prepare('SELECT name, created, generation FROM consumer_groups WHERE name = ?');
    this.listGroups = this.db.prepare('SELECT name, created, generation FROM consumer_groups ORDER BY name');
    this.insertGroup = this.db.prepare('INSERT OR IGNORE INTO consumer_groups (name, created, generation) VALUES (?, ?, ?)');
    this.setGeneration = this.db.prepare('UPDATE consumer_groups SET generation = ? WHERE name = ?');
    this.deleteGroup = this.db.prepare('DELETE FROM consumer_groups WHERE name = ?');
    this.getCheckpoints = this.db.prepare('SELECT partition, seq FROM checkpoints WHERE grp = ? ORDER BY partition');
    this.clearCheckpoints = this.db.prepare('DELETE FROM checkpoints WHERE grp = ?');
    this.putCheckpoint = this.db.prepare('INSERT INTO checkpoints (grp, partition, seq) VALUES (?, ?, ?)');
    this.advanceCheckpoint = this.db.prepare(`INSERT INTO checkpoints (grp, partition, seq) VALUES (?, ?, ?)
      ON CONFLICT (grp, partition) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > checkpoints.seq`);
    this.writeStart = this.db.transaction((name: string, start: Positions) => {
      this.clearCheckpoints.run(name);
      for (const [p, seq] of start) this.putCheckpoint.run(name, p, seq);
    });
    this.commitTx = this.db.transaction((name: string, generation: string, positions: Positions): CommitOutcome => {
      const row = this.getGroup.get(name);
      if (!row) return 'group_not_found';
      if (row.generation !== generation) return 'stale_generation';
      for (const [p, seq] of positions) this.advanceCheckpoint.run(name, p, seq);
      return 'committed';
    });
  }

  async create(name: string, start: Positions): Promise<ConsumerGroup | undefined> {
    const created = this.db.transaction(() => {
      if (this.insertGroup.run(name, Date.now(), randomUUID()).changes === 0) return false;
      this.writeStart(name, start);
      return true;
    })();
    return created ? this.get(name) : undefined;
  }

  async reposition(name: string, start: Positions): Promise<ConsumerGroup | undefined> {
    const done = this.db.transaction(() => {
      if (this.setGeneration.run(randomUUID(), name).changes === 0) return false;
      this.writeStart(name, start);
      return true;
    })();
    return done ? this.get(name) : undefined;
  }

  async get(name: string): Promise<ConsumerGroup | undefined> {
    const row = this.getGroup.get(name);
    return row && toGroup(row);
  }

  async list(): Promise<ConsumerGroup[]> {
    return this.listGroups.all().map(toGroup);
  }

  async delete(name: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.clearCheckpoints.run(name);
      return this.deleteGroup.run(name).changes > 0;
    })();
  }

  async checkpoints(name: string): Promise<Map<PartitionId, SequenceNumber>> {
    return new Map(this.getCheckpoints.all(name).map((r) => [r.partition, r.seq]));
  }

  async commit(name: string, generation: string, positions: Positions): Promise<CommitOutcome> {
    return this.commitTx(name, generation, positions);
  }

  async cursorKey(): Promise<Buffer> {
    this.db.prepare("INSERT OR IGNORE INTO groups_meta (name, value) VALUES ('cursor_key', ?)").run(randomBytes(32));
    return this.db.prepare<[], { value: Buffer }>("SELECT value FROM groups_meta WHERE name = 'cursor_key'").get()!.value;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

function toGroup(row: GroupRow): ConsumerGroup {
  return { name: row.name, createdAt: new Date(row.created), generation: row.generation };
}
