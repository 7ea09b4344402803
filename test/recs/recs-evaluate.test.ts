// `omnistream recs evaluate` as an operator runs it: the demo's simulated shoppers, the demo's
// settings; the learned model must beat "most popular" on NDCG@10. The measures themselves are
// checked on a case small enough to work out by hand.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { sampleEvents, senderId } from '../../demo/sample-events.js';
import { buildConfig } from '../../src/config/index.js';
import { DEMO_CONFIG } from '../../src/demo/demo-data.js';
import { evaluate } from '../../src/recs/evaluate.js';
import { recsConfigOf } from '../../src/recs/recs-rules.js';
import { omnistream } from '../cli/run-cli.js';
import { tempDir } from '../helpers/server.js';

const dir = tempDir();
after(() => rmSync(dir, { recursive: true, force: true }));

test('on the demo\'s shoppers the model beats the popularity baseline on NDCG@10', { timeout: 120_000 }, async () => {
  const file = join(dir, 'events.jsonl');
  const events = await sampleEvents(3_000);
  writeFileSync(file, events.map((e) => JSON.stringify({ tenant: e.tenant, deviceId: senderId(e), enqueuedTimeUtc: new Date(e.atMs).toISOString(), body: e.body })).join('\n') + '\nnot json\n');
  const r = await omnistream(['recs', 'evaluate', '--input', file, '--config', DEMO_CONFIG]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /skipped 1 lines that are not JSON objects/);
  const result = JSON.parse(r.stdout) as { k: number; shoppers: number; precision: number; recall: number; ndcg: number; coverage: number; baseline: { precision: number; recall: number; ndcg: number } };
  assert.equal(result.k, 10);
  assert.ok(result.shoppers > 1_000, `${result.shoppers} shoppers`);
  for (const m of ['precision', 'recall', 'ndcg', 'coverage'] as const) assert.ok(result[m] > 0 && result[m] <= 1, `${m} ${result[m]}`);
  assert.ok(result.ndcg > result.baseline.ndcg, `NDCG@10 ${result.ndcg} vs popular ${result.baseline.ndcg}`);
  assert.ok(result.recall > result.baseline.recall, `recall@10 ${result.recall} vs popular ${result.baseline.recall}`);
});

test('bad flags are usage errors (64); a missing file is a failure (1)', async () => {
  assert.equal((await omnistream(['recs', 'evaluate', '--config', DEMO_CONFIG])).code, 64);
  const k = await omnistream(['recs', 'evaluate', '--input', 'x.jsonl', '--config', DEMO_CONFIG, '--k', '0']);
  assert.equal(k.code, 64);
  assert.match(k.stderr, /--k must be an integer from 1 to 100/);
  assert.equal((await omnistream(['recs', 'evaluate', '--input', 'x.jsonl', '--config', DEMO_CONFIG, '--test-fraction', '1.5'])).code, 64);
  assert.equal((await omnistream(['recs', 'evaluate', '--input', join(dir, 'absent.jsonl'), '--config', DEMO_CONFIG])).code, 1);
  const none = await omnistream(['recs', 'evaluate', '--input', 'x.jsonl']);
  assert.equal(none.code, 64);
  assert.match(none.stderr, /no events to learn from/);
});

test('precision, recall and NDCG worked out by hand', () => {
  const config = recsConfigOf(buildConfig({ recommendations: { shopper: 'u', halfLife: 0, events: { v: { weight: 1 } } } }).recommendations);
  const ev = (u: string, sku: string, atMs: number) => ({ tenant: 't', deviceId: 'd', atMs, body: { event: 'v', u, sku } });
  // x and y saw A, B, then D; "me" saw A, then B; w saw C seven times. With 0.34 held out: x and y
  // hold out D (never trained: no one can find it), me holds out B, w two of its C (seen: not scored).
  const events = [ev('x', 'A', 1), ev('x', 'B', 2), ev('x', 'D', 20), ev('y', 'A', 3), ev('y', 'B', 4), ev('y', 'D', 21), ev('me', 'A', 8), ev('me', 'B', 22),
    ...Array.from({ length: 7 }, (_, i) => ev('w', 'C', 10 + i))];
  const r = evaluate(config, events, { k: 2, testFraction: 0.34 });
  assert.equal(r.shoppers, 3);
  // me: the model ranks B first (A's only neighbour) → precision 1/2, recall 1, NDCG 1; x and y score 0.
  assert.deepEqual({ precision: r.precision, recall: r.recall, ndcg: r.ndcg }, { precision: 1 / 6, recall: 1 / 3, ndcg: 1 / 3 });
  // Popular (C 5, A 3, B 2) without me's A: C, B → B second: NDCG (1/log2 3) / 1.
  assert.deepEqual({ precision: r.baseline.precision, recall: r.baseline.recall, ndcg: r.baseline.ndcg }, { precision: 1 / 6, recall: 1 / 3, ndcg: 1 / Math.log2(3) / 3 });
  assert.deepEqual(r.events, { train: 10, test: 5, skipped: 0 });
});
