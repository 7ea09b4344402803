import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteEventLog } from '../../src/log/sqlite-event-log.js';
import { OmniError } from '../../src/core/errors.js';
import type { NewMessage } from '../../src/core/message.js';
import { ByteWriter, writeMessage } from '../../src/feed/wire-message.js';
import type { MessageVisitor } from '../../src/log/event-log.js';
import { tempDir } from '../helpers/server.js';
import { eventLogContract, msg } from './event-log.contract.js';

/** A partition's messages as the feed writes them from a scan. */
async function feedJson(log: SqliteEventLog, partition: number): Promise<Array<{ body: unknown; bodyEncoding?: string }>> {
  const w = new ByteWriter();
  let n = 0;
  const visit: MessageVisitor = (seq, enqueuedMs, shared, messageId, correlationId, body) => {
    if (n++ > 0) w.text(',');
    writeMessage(w, false, partition, seq, enqueuedMs, shared, messageId, correlationId, body);
  };
  await log.scan(partition, { kind: 'earliest' }, 100, visit);
  return JSON.parse(`[${w.done().toString('utf8')}]`) as Array<{ body: unknown; bodyEncoding?: string }>;
}

/** What the log decided and stored per message of a partition, as its scan hands it over. */
async function stored(log: SqliteEventLog, partition: number, from = 0): Promise<Array<{ bodyIsJson: boolean | undefined; propertiesJson: string; body: string | Buffer }>> {
  const out: Array<{ bodyIsJson: boolean | undefined; propertiesJson: string; body: string | Buffer }> = [];
  await log.scan(partition, { kind: 'sequence', sequenceNumber: from }, 100, (_seq, _ms, shared, _mid, _cid, body) => {
    out.push({ bodyIsJson: shared.bodyIsJson, propertiesJson: shared.propertiesJson, body });
  });
  return out;
}

for (const durability of ['process', 'fsync'] as const) {
  await eventLogContract({
    name: `SQLite (durability ${durability})`,
    fixture: async () => {
      const dir = tempDir();
      return {
        open: async (options, store) => new SqliteEventLog({ partitions: 4, retentionMs: 1e9, dedupWindowMs: 1e9, maxPendingMessages: 1e5, ...options, path: join(dir, `${store}.db`), durability }),
        cleanup: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  });
}

test('the partition count of an existing log cannot change', async () => {
  const dir = tempDir();
  const path = join(dir, 'log.db');
  const opts = { retentionMs: 1e9, dedupWindowMs: 1e9, maxPendingMessages: 1e5, durability: 'process' as const, path };
  const log = new SqliteEventLog({ ...opts, partitions: 4 });
  await log.append([msg('d', 'x')]);
  await log.close();
  assert.throws(() => new SqliteEventLog({ ...opts, partitions: 8 }), (e: unknown) => e instanceof OmniError && /cannot change/.test(e.message));
  rmSync(dir, { recursive: true, force: true });
});

test('the log decides once, when storing, whether a body is JSON; reads carry it, with bodies and properties intact', async () => {
  const dir = tempDir();
  const log = new SqliteEventLog({ partitions: 2, retentionMs: 1e9, dedupWindowMs: 1e9, maxPendingMessages: 1e5, durability: 'process', path: join(dir, 'log.db') });
  const cases: Array<[name: string, body: Buffer, extra: Partial<NewMessage>, json: boolean]> = [
    ['JSON, no content type', Buffer.from('{"a":[1,"ü"]}'), { properties: { k: 'v', 'with space': 'x"y' } }, true],
    ['JSON, declared', Buffer.from(' 42 '), { contentType: 'application/cloudevents+json; charset=UTF-8', contentEncoding: 'utf-8' }, true],
    ['text', Buffer.from('hello'), {}, false],
    ['declared JSON that is not', Buffer.from('{"a":'), { contentType: 'application/json' }, false],
    ['binary', Buffer.from([0xff, 0x00, 0xc3, 0x28]), {}, false],
    ['JSON declared as text/plain', Buffer.from('{}'), { contentType: 'text/plain' }, false],
    ['JSON, gzip encoding', Buffer.from('{}'), { contentEncoding: 'gzip' }, false],
    ['JSON, UTF-16 charset', Buffer.from('{}'), { contentType: 'application/json; charset=utf-16' }, false],
    ['empty', Buffer.alloc(0), {}, false],
  ];
  for (const [, body, extra] of cases) await log.append([msg('d', body, extra)]);
  const p = (await log.append([msg('d', 'x')]))[0]!.partition;
  const page = await log.read(p, { kind: 'earliest' }, 100);
  assert.equal(page.messages.length, cases.length + 1);
  const decided = await stored(log, p);
  cases.forEach(([name, body, extra, json], i) => {
    const m = page.messages[i]!;
    assert.deepEqual(m.body, body, name);
    assert.deepEqual(m.properties, extra.properties ?? {}, name);
    assert.equal(decided[i]!.bodyIsJson, json, name);
    assert.equal(decided[i]!.propertiesJson, JSON.stringify(extra.properties ?? {}), name);
    assert.deepEqual(decided[i]!.body, json ? body.toString('utf8') : body, `${name}: a JSON body is scanned as text`);
  });
  // A scan (the feed's path) carries the same decision, and the feed writes the body by it.
  const wire = await feedJson(log, p);
  cases.forEach(([name, body, , json], i) => {
    if (json) assert.deepEqual(wire[i]!.body, JSON.parse(body.toString('utf8')), name);
    else assert.deepEqual([wire[i]!.bodyEncoding, Buffer.from(wire[i]!.body as string, 'base64')], ['base64', body], name);
  });
  // JSON.stringify sees a plain message.
  const plain = JSON.parse(JSON.stringify(page.messages[0])) as Record<string, unknown>;
  assert.deepEqual(plain.properties, { k: 'v', 'with space': 'x"y' });
  assert.deepEqual(Buffer.from((plain.body as { data: number[] }).data), cases[0]![1]);
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a log stored before body_json opens, reads its old rows (JSON checked at read time) and stores new ones with it', async () => {
  const dir = tempDir();
  const path = join(dir, 'log.db');
  // The schema and rows as the previous version wrote them.
  const old = new Database(path);
  old.exec(`
    CREATE TABLE log_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE partitions (partition INTEGER PRIMARY KEY, next_seq INTEGER NOT NULL, last_enqueued INTEGER NOT NULL);
    CREATE TABLE dedup (key TEXT PRIMARY KEY, partition INTEGER NOT NULL, seq INTEGER NOT NULL, enqueued INTEGER NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;
    INSERT INTO log_meta VALUES ('partitions', '2');`);
  for (let p = 0; p < 2; p++) {
    old.exec(`CREATE TABLE messages_${p} (
      seq INTEGER PRIMARY KEY, enqueued INTEGER NOT NULL, device_id TEXT NOT NULL, tenant TEXT NOT NULL,
      generation_id TEXT NOT NULL, auth TEXT NOT NULL, message_id TEXT, correlation_id TEXT,
      content_type TEXT, content_encoding TEXT, properties TEXT, body BLOB NOT NULL)`);
  }
  const insert = old.prepare('INSERT INTO messages_0 VALUES (?,?,?,?,?,?,?,?,?,?,?,?)');
  insert.run(0, 1_000, 'd', 'default', '1', 'device', 'm-0', null, null, null, '{"k":"v"}', Buffer.from('{"old":true}'));
  insert.run(1, 1_000, 'd', 'default', '1', 'hub:service', null, null, null, null, null, Buffer.from([0xff, 0xfe]));
  old.close();

  const log = new SqliteEventLog({ partitions: 2, retentionMs: 1e12, dedupWindowMs: 1e9, maxPendingMessages: 1e5, durability: 'process', path });
  const before = await log.read(0, { kind: 'earliest' }, 10);
  assert.deepEqual(before.messages.map((m) => [m.sequenceNumber, m.body, m.properties]), [
    [0, Buffer.from('{"old":true}'), { k: 'v' }],
    [1, Buffer.from([0xff, 0xfe]), {}],
  ]);
  assert.deepEqual((await stored(log, 0)).map((m) => m.bodyIsJson), [undefined, undefined], 'old rows: not decided');
  assert.deepEqual(before.messages[1]!.authMethod, { scope: 'hub', type: 'sas', issuer: 'iothub', policy: 'service' });
  const oldWire = await feedJson(log, 0);
  assert.deepEqual(oldWire[0]!.body, { old: true });
  assert.equal(oldWire[1]!.bodyEncoding, 'base64');
  // New appends continue the old partition and are stored with the decision.
  let appended;
  do appended = (await log.append([msg(`dev-${Math.random()}`, '{"new":1}')]))[0]!; while (appended.partition !== 0);
  const after = await log.read(0, { kind: 'sequence', sequenceNumber: appended.sequenceNumber }, 10);
  assert.ok(appended.sequenceNumber >= 2);
  assert.deepEqual(after.messages.map((m) => m.body.toString()), ['{"new":1}']);
  assert.deepEqual((await stored(log, 0, appended.sequenceNumber)).map((m) => [m.bodyIsJson, m.body]), [[true, '{"new":1}']]);
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

test('pages read ahead are exactly the pages a later read returns', async () => {
  const dir = tempDir();
  const log = new SqliteEventLog({ partitions: 2, retentionMs: 1e9, dedupWindowMs: 1e9, maxPendingMessages: 1e5, durability: 'process', path: join(dir, 'log.db') });
  const p = (await log.append(Array.from({ length: 23 }, (_, i) => msg('d', `{"i":${i}}`))))[0]!.partition;
  const idle = () => new Promise((r) => setImmediate(r));
  const seen: number[] = [];
  let next = 0;
  for (;;) {
    const page = await log.read(p, { kind: 'sequence', sequenceNumber: next }, 5);
    if (page.messages.length === 0) break;
    seen.push(...page.messages.map((m) => JSON.parse(m.body.toString()).i as number));
    next = page.nextSequenceNumber;
    await idle(); // the next page is read ahead here
    if (next === 10) {
      // Another reader elsewhere in between, and a different page size, still read what is stored.
      assert.deepEqual((await log.read(p, { kind: 'sequence', sequenceNumber: 1 }, 2)).messages.map((m) => m.sequenceNumber), [1, 2]);
      assert.deepEqual((await log.read(p, { kind: 'sequence', sequenceNumber: 10 }, 3)).messages.map((m) => m.sequenceNumber), [10, 11, 12]);
      await log.append([msg('d', '{"i":23}')]);
    }
  }
  assert.deepEqual(seen, Array.from({ length: 24 }, (_, i) => i));
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * The transactions committed to a WAL file so far, read from SQLite's documented WAL format
 * (sqlite.org/fileformat2.html, "WAL File Format"): a 32-byte header with the page size and the
 * current salts, then frames of a 24-byte header and a page; a frame whose "database size after
 * commit" field is not zero ends a transaction. Frames with other salts are left over from before
 * the WAL last restarted from its beginning, and are no longer part of it.
 */
function walCommits(dbPath: string): { salts: string; commits: number } {
  let wal: Buffer;
  try {
    wal = readFileSync(`${dbPath}-wal`);
  } catch {
    return { salts: '', commits: 0 };
  }
  if (wal.length < 32) return { salts: '', commits: 0 };
  const pageSize = wal.readUInt32BE(8);
  const salts = wal.subarray(16, 24).toString('hex');
  let commits = 0;
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
    if (wal.subarray(at + 8, at + 16).toString('hex') !== salts) break;
    if (wal.readUInt32BE(at + 4) !== 0) commits++;
  }
  return { salts, commits };
}

/**
 * Commits between two readings. The checkpointer thread may let the next writer restart the WAL
 * (new salts) at the start of a transaction; then every commit in it came after `before`.
 */
function commitsSince(before: { salts: string; commits: number }, dbPath: string): number {
  const now = walCommits(dbPath);
  return now.salts === before.salts ? now.commits - before.commits : now.commits;
}

for (const durability of ['process', 'fsync'] as const) {
  test(`appends issued in one turn of the event loop commit as one transaction (durability ${durability})`, async () => {
    const dir = tempDir();
    const path = join(dir, 'log.db');
    const log = new SqliteEventLog({ partitions: 4, retentionMs: 1e9, dedupWindowMs: 1e9, maxPendingMessages: 1e5, durability, path });
    try {
      // Appends in separate turns each commit on their own, so the count sees every commit
      // (and the test below would see 40 if the group were not shared).
      for (let i = 0; i < 3; i++) {
        const before = walCommits(path);
        await log.append([msg(`solo-${i}`, 'x')]);
        assert.equal(commitsSince(before, path), 1, `append ${i} in its own turn`);
      }
      // 40 appends from 40 devices (every partition), singles and batches, a duplicate among them.
      const before = walCommits(path);
      const appends = Array.from({ length: 40 }, (_, i) => log.append(i % 4 === 0
        ? [msg(`dev-${i}`, `{"i":${i},"part":1}`), msg(`dev-${i}`, `{"i":${i},"part":2}`)]
        : [msg(`dev-${i}`, `{"i":${i}}`, i === 3 ? { messageId: 'once' } : {})]));
      appends.push(log.append([msg('dev-3', '{"again":true}', { messageId: 'once' })]));
      const results = (await Promise.all(appends)).flat();
      assert.equal(commitsSince(before, path), 1, 'one commit for the whole turn');
      assert.equal(results.length, 51);
      assert.equal(new Set(results.map((r) => r.partition)).size, 4);
      assert.equal(results.filter((r) => r.duplicate).length, 1);
      // Another connection, as another process would, finds all of them in the file.
      const other = new Database(path, { readonly: true });
      try {
        const rows = [0, 1, 2, 3].reduce((n, p) => n + other.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM messages_${p}`).get()!.n, 0);
        assert.equal(rows, 3 + 50);
      } finally {
        other.close();
      }
    } finally {
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('scan pages read ahead on the reader thread are exactly what a read returns, through retention and other readers', async () => {
  const dir = tempDir();
  const log = new SqliteEventLog({ partitions: 1, retentionMs: 60_000, dedupWindowMs: 1e9, maxPendingMessages: 1e5, durability: 'process', path: join(dir, 'log.db') });
  const hub = { scope: 'hub', type: 'sas', issuer: 'iothub', policy: 'service' } as const;
  const kinds = (i: number): NewMessage => [
    msg(`d-${i % 3}`, `{"i":${i},"text":"ü ${'x'.repeat(i % 7)}"}`),
    msg('d-bin', Buffer.from([0xff, i, 0xc3, 0x28]), { messageId: `m-${i}` }),
    msg('e', ` ${i} `, { contentType: 'application/json', correlationId: `c-${i}`, authMethod: hub, properties: { k: `v${i % 2}` } }),
    msg('e', '{}', { contentType: 'text/plain', tenant: 'brand-b' }),
  ][i % 4]!;
  await log.append(Array.from({ length: 40 }, (_, i) => kinds(i)));
  const view: MessageVisitor = (seq, enqueuedMs, shared, messageId, correlationId, body) => {
    assert.equal(typeof body === 'string', shared.bodyIsJson === true, 'a body is text exactly when it is known to be JSON');
    return void page.push({
      seq, enqueuedMs, deviceId: shared.deviceId, tenant: shared.tenant, authMethod: shared.authMethod, contentType: shared.contentType,
      properties: JSON.parse(shared.propertiesJson), messageId, correlationId, body: (typeof body === 'string' ? Buffer.from(body, 'utf8') : body).toString('hex'),
    });
  };
  let page: unknown[] = [];
  const expected = async (from: number, max: number) => (await log.read(0, { kind: 'sequence', sequenceNumber: from }, max)).messages.map((m) => ({
    seq: m.sequenceNumber, enqueuedMs: m.enqueuedTimeUtc.getTime(), deviceId: m.deviceId, tenant: m.tenant, authMethod: m.authMethod, contentType: m.contentType,
    properties: m.properties, messageId: m.messageId, correlationId: m.correlationId, body: m.body.toString('hex'),
  }));
  const scanAll = async (from: number, max: number, between: (next: number) => Promise<void>) => {
    const seen: unknown[] = [];
    let next = from;
    for (;;) {
      page = [];
      const result = await log.scan(0, { kind: 'sequence', sequenceNumber: next }, max, view);
      assert.deepEqual(page, await expected(next, max), `the page from ${next}`);
      seen.push(...page);
      if (result.count === 0) return seen;
      next = result.nextSequenceNumber;
      await between(next);
    }
  };
  const before = log.pagesReadAhead;
  assert.equal((await scanAll(0, 3, async () => {})).length, 40);
  assert.ok(log.pagesReadAhead - before >= 10, `most pages came from the reader thread (${log.pagesReadAhead - before})`);
  // Another reader in between, at another place and page size, and appends: still what is stored.
  await scanAll(0, 4, async (next) => {
    if (next === 8) {
      assert.deepEqual((await expected(1, 2)).map((m) => m.seq), [1, 2]);
      await log.scan(0, { kind: 'sequence', sequenceNumber: 13 }, 5, () => {});
      await log.append([kinds(40), kinds(41)]);
    }
  });
  // Retention deletes the pages read ahead: the scan starts at the earliest message kept.
  await log.append(Array.from({ length: 12 }, (_, i) => kinds(42 + i)));
  await log.scan(0, { kind: 'sequence', sequenceNumber: 0 }, 5, () => {});
  const second = await log.scan(0, { kind: 'sequence', sequenceNumber: 5 }, 5, () => {});
  await log.applyRetention(new Date(Date.now() + 60_001));
  const after = await log.scan(0, { kind: 'sequence', sequenceNumber: second.nextSequenceNumber }, 5, () => {});
  assert.deepEqual([second.count, after], [5, { count: 0, startedAtEarliest: true, nextSequenceNumber: 54 }]);
  // A log closed while a page is read ahead closes.
  await log.scan(0, { kind: 'earliest' }, 1, () => {});
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a scan asked for some fields gets, with the pages read ahead, those members of each JSON object body', async () => {
  const dir = tempDir();
  const log = new SqliteEventLog({ partitions: 1, retentionMs: 1e9, dedupWindowMs: 1e9, maxPendingMessages: 1e5, durability: 'process', path: join(dir, 'log.db') });
  const bodies = Array.from({ length: 30 }, (_, i) => [
    `{"sku":"s-${i}","Qty":${i},"other":{"sku":"inner"},"text":"ü"}`, '[1,2]', `{"SKU":${i}, "sku" : "again"}`, '{"n\\u0061me":1}', Buffer.from([0xff, i]), '{}',
  ][i % 6]!);
  await log.append(bodies.map((b) => msg('d', b)));
  const fields = new Set(['sku', 'qty']);
  const seen: Array<{ seq: number; members: string | undefined }> = [];
  const text = (members: Record<string, unknown> | undefined) => (members === undefined ? undefined : JSON.stringify(members));
  let next = 0;
  const before = log.pagesReadAhead;
  for (;;) {
    const r = await log.scan(0, { kind: 'sequence', sequenceNumber: next }, 4, (seq, _ms, _shared, _mid, _cid, _body, members) => void seen.push({ seq, members: text(members) }), { fields });
    if (r.count === 0) break;
    next = r.nextSequenceNumber;
  }
  assert.ok(log.pagesReadAhead - before >= 5);
  assert.equal(seen.length, 30);
  // The first two pages (the second shows the reader goes page by page) are read on the event loop: no members.
  const expected = (i: number) => [`{"sku":"s-${i}","Qty":${i}}`, undefined, `{"SKU":${i},"sku":"again"}`, undefined, undefined, '{}'][i % 6];
  for (const { seq, members } of seen) if (seq >= 8 && seq < 28) assert.equal(members, expected(seq), `message ${seq}`);
  assert.ok(seen.filter((s) => s.members !== undefined).length >= 10);
  assert.deepEqual(seen.slice(0, 8).map((s) => s.members), new Array(8).fill(undefined));
  // Another set of fields than the page was read for: no members (they are a hint).
  const other: Array<Record<string, unknown> | undefined> = [];
  await log.scan(0, { kind: 'sequence', sequenceNumber: 0 }, 4, () => {}, { fields });
  await log.scan(0, { kind: 'sequence', sequenceNumber: 4 }, 4, () => {}, { fields });
  await log.scan(0, { kind: 'sequence', sequenceNumber: 8 }, 4, (...args) => void other.push(args[6]), { fields: new Set(['sku']) });
  assert.deepEqual(other, [undefined, undefined, undefined, undefined]);
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});
