// Consumer groups and their checkpoints in PostgreSQL, shared by every gateway. Each operation is
// one statement, so it is atomic without holding a connection across round trips: a commit reads
// the group's generation under a share lock (a reposition, which rewrites it, waits for commits in
// flight, and a commit after it sees the new generation) and moves each checkpoint forward only.
import { randomBytes, randomUUID } from 'node:crypto';
import type { PartitionId, SequenceNumber } from '../core/message.js';
import { PostgresDatabase, type PostgresTarget } from '../postgres/postgres-database.js';
import { migrate, schemaComponent } from '../postgres/schema-migrations.js';
import type { CommitFence, CommitOutcome, ConsumerGroup, ConsumerGroupStore, Positions } from './consumer-group-store.js';

export const CONSUMER_GROUP_SCHEMA = schemaComponent('consumer_groups', [
  {
    version: 1,
    description: 'consumer groups, their checkpoints, and the cursor key',
    statements: (s) => [
      // COLLATE "C": groups list by name in code point order, as the embedded store lists them.
      `CREATE TABLE ${s}.consumer_groups (name text COLLATE "C" PRIMARY KEY, created_ms bigint NOT NULL, generation text NOT NULL)`,
      `CREATE TABLE ${s}.group_checkpoints (
        grp text COLLATE "C" NOT NULL REFERENCES ${s}.consumer_groups (name) ON DELETE CASCADE,
        partition integer NOT NULL, seq bigint NOT NULL, PRIMARY KEY (grp, partition))`,
      `CREATE TABLE ${s}.group_secrets (name text PRIMARY KEY, value bytea NOT NULL)`,
    ],
  },
]);

interface GroupRow {
  name: string;
  created_ms: string;
  generation: string;
}

export class PostgresConsumerGroupStore implements ConsumerGroupStore {
  private readonly groups: string;
  private readonly checkpointsTable: string;
  private readonly secrets: string;
  /** The cursor key never changes once created; read once. */
  private key: Promise<Buffer> | undefined;

  private constructor(private readonly db: PostgresDatabase) {
    this.groups = db.table('consumer_groups');
    this.checkpointsTable = db.table('group_checkpoints');
    this.secrets = db.table('group_secrets');
  }

  /** Opens the store in `target`'s schema, creating or migrating its tables. */
  static async open(target: PostgresTarget): Promise<PostgresConsumerGroupStore> {
    const db = PostgresDatabase.connect(target, 'the consumer-group store');
    try {
      await migrate(db, CONSUMER_GROUP_SCHEMA);
    } catch (err) {
      await db.close();
      throw err;
    }
    return new PostgresConsumerGroupStore(db);
  }

  async create(name: string, start: Positions): Promise<ConsumerGroup | undefined> {
    const [partitions, seqs] = columns(start);
    // The group and its checkpoints in one statement: a group is never seen without its start.
    const { rows } = await this.db.query<GroupRow>(`WITH g AS (
        INSERT INTO ${this.groups} (name, created_ms, generation) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING
        RETURNING name, created_ms, generation),
      c AS (INSERT INTO ${this.checkpointsTable} (grp, partition, seq) SELECT g.name, u.p, u.s FROM g, unnest($4::integer[], $5::bigint[]) AS u(p, s))
      SELECT name, created_ms, generation FROM g`, [name, Date.now(), randomUUID(), partitions, seqs]);
    return rows[0] && toGroup(rows[0]);
  }

  async reposition(name: string, start: Positions): Promise<ConsumerGroup | undefined> {
    const [partitions, seqs] = columns(start);
    // The start's partitions are overwritten and the others removed: no row is touched twice.
    const { rows } = await this.db.query<GroupRow>(`WITH g AS (
        UPDATE ${this.groups} SET generation = $2 WHERE name = $1 RETURNING name, created_ms, generation),
      d AS (DELETE FROM ${this.checkpointsTable} WHERE grp IN (SELECT name FROM g) AND NOT (partition = ANY ($3::integer[]))),
      c AS (INSERT INTO ${this.checkpointsTable} (grp, partition, seq) SELECT g.name, u.p, u.s FROM g, unnest($3::integer[], $4::bigint[]) AS u(p, s)
        ON CONFLICT (grp, partition) DO UPDATE SET seq = EXCLUDED.seq)
      SELECT name, created_ms, generation FROM g`, [name, randomUUID(), partitions, seqs]);
    return rows[0] && toGroup(rows[0]);
  }

  async get(name: string): Promise<ConsumerGroup | undefined> {
    const { rows } = await this.db.query<GroupRow>(`SELECT name, created_ms, generation FROM ${this.groups} WHERE name = $1`, [name]);
    return rows[0] && toGroup(rows[0]);
  }

  async list(): Promise<ConsumerGroup[]> {
    const { rows } = await this.db.query<GroupRow>(`SELECT name, created_ms, generation FROM ${this.groups} ORDER BY name`);
    return rows.map(toGroup);
  }

  async delete(name: string): Promise<boolean> {
    // Its checkpoints go with it (ON DELETE CASCADE).
    return (await this.db.query(`DELETE FROM ${this.groups} WHERE name = $1`, [name])).rowCount === 1;
  }

  async checkpoints(name: string): Promise<Map<PartitionId, SequenceNumber>> {
    const { rows } = await this.db.query<{ partition: number; seq: string }>(`SELECT partition, seq FROM ${this.checkpointsTable} WHERE grp = $1 ORDER BY partition`, [name]);
    return new Map(rows.map((r) => [r.partition, Number(r.seq)]));
  }

  async commit(name: string, generation: string, positions: Positions, fence?: CommitFence): Promise<CommitOutcome> {
    const [partitions, seqs] = columns(positions);
    // With a fence, only partitions whose lease row still names the reader; FOR SHARE holds a
    // takeover (an update of that row) until this commit is done, so the new holder reads it.
    const fenced = fence === undefined ? '' : `,
      f AS (SELECT name FROM ${this.db.table('leases')} WHERE name = ANY($5::text[]) AND owner = $6 FOR SHARE)`;
    const held = fence === undefined ? '' : ' AND u.lease IN (SELECT name FROM f)';
    const values: unknown[] = [name, generation, partitions, seqs];
    if (fence !== undefined) values.push(partitions.map((p) => fence.lease(p)), fence.reader);
    // FOR SHARE: concurrent commits proceed together; a reposition or delete waits for them, and a
    // commit arriving during one waits and then reads the group as it left it.
    const { rows } = await this.db.query<{ generation: string | null }>(`WITH g AS (
        SELECT name, generation FROM ${this.groups} WHERE name = $1 FOR SHARE)${fenced},
      c AS (INSERT INTO ${this.checkpointsTable} (grp, partition, seq)
        SELECT g.name, u.p, u.s FROM g, unnest(${fence === undefined ? '$3::integer[], $4::bigint[]) AS u(p, s)' : '$3::integer[], $4::bigint[], $5::text[]) AS u(p, s, lease)'}
        WHERE g.generation = $2${held}
        ON CONFLICT (grp, partition) DO UPDATE SET seq = EXCLUDED.seq WHERE ${this.checkpointsTable}.seq < EXCLUDED.seq)
      SELECT (SELECT generation FROM g) AS generation`, values);
    const found = rows[0]?.generation ?? null;
    if (found === null) return 'group_not_found';
    return found === generation ? 'committed' : 'stale_generation';
  }

  cursorKey(): Promise<Buffer> {
    // The first process to get here creates it; the no-op update makes every other one, even one
    // racing it, read back the winner's key in the same statement.
    this.key ??= this.db.query<{ value: Buffer }>(`INSERT INTO ${this.secrets} (name, value) VALUES ('cursor_key', $1)
        ON CONFLICT (name) DO UPDATE SET value = ${this.secrets}.value RETURNING value`, [randomBytes(32)])
      .then(({ rows }) => rows[0]!.value)
      .catch((err: unknown) => {
        this.key = undefined;
        throw err;
      });
    return this.key;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/** Positions as two parallel arrays, for unnest. */
function columns(positions: Positions): [number[], number[]] {
  return [[...positions.keys()], [...positions.values()]];
}

function toGroup(row: GroupRow): ConsumerGroup {
  return { name: row.name, createdAt: new Date(Number(row.created_ms)), generation: row.generation };
}
