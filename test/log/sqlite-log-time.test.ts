import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SqliteEventLog } from '../../src/log/sqlite-event-log.js';
import { tempDir } from '../helpers/server.js';
import { msg } from './event-log.contract.js';

test('retention deletes exactly the expired messages, in steps that let appends through meanwhile', async () => {
  const dir = tempDir();
  const log = new SqliteEventLog({ partitions: 2, retentionMs: 100, dedupWindowMs: 1e9, maxPendingMessages: 1e5, durability: 'process', path: join(dir, 'log.db') });
  try {
    const expired = 7_000;
    for (let i = 0; i < expired; i += 500) await log.append(Array.from({ length: 500 }, (_, j) => msg(`d${(i + j) % 7}`, `old-${i + j}`)));
    await sleep(150);
    const kept = await log.append(Array.from({ length: 20 }, (_, j) => msg(`d${j % 7}`, `new-${j}`)));
    const order: string[] = [];
    const retention = log.applyRetention(new Date()).then((r) => { order.push('retention'); return r; });
    const during = log.append([msg('d1', 'during')]).then((r) => { order.push('append'); return r; });
    const [{ deletedMessages }] = await Promise.all([retention, during]);
    assert.equal(deletedMessages, expired);
    // More than one step's worth of rows, and the append was committed before the last step.
    assert.deepEqual(order, ['append', 'retention']);
    const left: string[] = [];
    for (let p = 0; p < 2; p++) {
      const page = await log.read(p, { kind: 'sequence', sequenceNumber: 0 }, 100);
      assert.equal(page.startedAtEarliest, true);
      left.push(...page.messages.map((m) => m.body.toString()));
    }
    assert.deepEqual(left.sort(), [...kept.map((_, j) => `new-${j}`), 'during'].sort());
    const info = await log.partitions();
    for (const p of info) assert.equal(p.beginningSequenceNumber, Math.min(...kept.filter((k) => String(k.partition) === p.partitionId).map((k) => k.sequenceNumber)));
  } finally {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a read from a time finds the first message enqueued at or after it, among many enqueue times', async () => {
  const dir = tempDir();
  const log = new SqliteEventLog({ partitions: 1, retentionMs: 1e9, dedupWindowMs: 1e9, maxPendingMessages: 1e5, durability: 'process', path: join(dir, 'log.db') });
  try {
    const firsts: Array<{ time: Date; seq: number }> = [];
    for (let g = 0; g < 40; g++) {
      const results = await log.append(Array.from({ length: 1 + (g % 7) * 20 }, (_, j) => msg('d', `${g}-${j}`)));
      if (firsts.at(-1)?.time.getTime() !== results[0]!.enqueuedTimeUtc.getTime()) firsts.push({ time: results[0]!.enqueuedTimeUtc, seq: results[0]!.sequenceNumber });
      await sleep(2);
    }
    assert.ok(firsts.length > 20, `only ${firsts.length} distinct enqueue times`);
    for (const { time, seq } of firsts) {
      assert.equal((await log.read(0, { kind: 'time', time }, 1)).messages[0]?.sequenceNumber, seq);
      // A moment later than a group's time lands on the next group.
      const next = firsts.find((f) => f.time > time);
      assert.equal((await log.read(0, { kind: 'time', time: new Date(time.getTime() + 1) }, 1)).messages[0]?.sequenceNumber, next?.seq);
    }
  } finally {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
