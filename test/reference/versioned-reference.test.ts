import assert from 'node:assert/strict';
import { test } from 'node:test';
import { digest, VersionedReference } from '../../src/reference/versioned-reference.js';

test('rows valid at a time: the version in force then; before the first, the first', async () => {
  const ref = new VersionedReference('products');
  assert.deepEqual(ref.rowsAt(5), []);
  const v1 = await digest([{ sku: 'a', price: '1' }]);
  const v2 = await digest([{ sku: 'a', price: '2' }]);
  const v3 = await digest([{ sku: 'a', price: '3' }]);
  assert.ok(ref.add({ validFromMs: 100, ...v1 }));
  assert.ok(ref.add({ validFromMs: 200, ...v2 }));
  assert.ok(ref.add({ validFromMs: 300, ...v3 }));
  assert.equal(ref.rowsAt(50)[0]!.price, '1');
  assert.equal(ref.rowsAt(100)[0]!.price, '1');
  assert.equal(ref.rowsAt(199)[0]!.price, '1');
  assert.equal(ref.rowsAt(200)[0]!.price, '2');
  assert.equal(ref.rowsAt(299.5)[0]!.price, '2');
  assert.equal(ref.rowsAt(1e15)[0]!.price, '3');
  assert.equal(ref.rowsAt(250), ref.rowsAt(260), 'one array per version, so a join indexes it once');
});

test('a version repeating the content, or not newer, is not added', async () => {
  const ref = new VersionedReference('p');
  const v = await digest([{ sku: 'a' }]);
  assert.ok(ref.add({ validFromMs: 100, ...v }));
  assert.equal(ref.add({ validFromMs: 200, ...(await digest([{ sku: 'a' }])) }), false);
  assert.equal(ref.add({ validFromMs: 50, ...(await digest([{ sku: 'b' }])) }), false);
  assert.equal(ref.count, 1);
});

test('versions share unchanged rows; pruning keeps the version valid at the cut', async () => {
  const ref = new VersionedReference('p');
  const first = await digest([{ sku: 'a', p: 1 }, { sku: 'b', p: 1 }]);
  ref.add({ validFromMs: 100, ...first });
  const second = await digest([{ sku: 'a', p: 1 }, { sku: 'b', p: 2 }], ref.latest);
  assert.equal(second.rows[0], first.rows[0], 'the unchanged row is the same object');
  assert.notEqual(second.rows[1], first.rows[1]);
  ref.add({ validFromMs: 200, ...second });
  ref.add({ validFromMs: 300, ...(await digest([{ sku: 'c' }])) });
  assert.equal(ref.prune(250), 1);
  assert.equal(ref.count, 2);
  assert.equal(ref.rowsAt(250)[1]!.p, 2);
});
