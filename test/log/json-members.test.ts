import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonMembers } from '../../src/log/json-members.js';

const fields = new Set(['sku', 'qty', 'nested', 'text', 'big']);

test('the members of the fields asked for, cut as written, in their order, names compared in lower case', () => {
  assert.equal(jsonMembers('{"sku":"a","other":1,"QTY":2}', fields), '{"sku":"a","QTY":2}');
  assert.equal(jsonMembers(' \n{ "Sku" :\t"a" , "x" : [1, {"sku": "}"}] ,"nested": {"a": "\\"}]", "b": [[]]}, "qty": -0.50e+2 }\r\n', fields),
    '{"Sku":"a","nested":{"a": "\\"}]", "b": [[]]},"qty":-0.50e+2}');
  // A repeated name is kept twice, so parsing still takes the last; numbers stay text (no double in between).
  const text = '{"sku":"first","big":1e400,"text":"ü \\u00fc \\\\","sku":"last","zero":0,"qty":10000000000000000000001}';
  const cut = jsonMembers(text, fields)!;
  assert.equal(cut, '{"sku":"first","big":1e400,"text":"ü \\u00fc \\\\","sku":"last","qty":10000000000000000000001}');
  const whole = JSON.parse(text) as Record<string, unknown>;
  assert.deepEqual(JSON.parse(cut), Object.fromEntries(Object.entries(whole).filter(([k]) => fields.has(k.toLowerCase()))));
  assert.equal(jsonMembers('{"a":true,"b":null,"c":false}', fields), '{}');
  assert.equal(jsonMembers('{}', fields), '{}');
  assert.equal(jsonMembers(' { } ', fields), '{}');
});

test('not an object, or a name with an escape: null (the caller parses the whole)', () => {
  for (const text of ['[1,2]', '"sku"', '42', 'null', ' true ', '{"s\\u006bu":1}', '{"a\\"b":1,"sku":2}']) assert.equal(jsonMembers(text, fields), null, text);
});
