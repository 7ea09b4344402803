import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isJsonText } from '../../src/core/json-text.js';

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function agrees(text: string): void {
  assert.equal(isJsonText(Buffer.from(text, 'utf8')), parses(text), `isJsonText disagrees with JSON.parse on ${JSON.stringify(text)}`);
}

test('accepts and rejects exactly what JSON.parse does on hand-picked texts', () => {
  const cases = [
    '', ' ', '{}', '[]', ' {} ', '{ }', '[ ]', '{"a":1}', '{"a" : 1 , "b":[true,false,null]}', '[1,2,]', '{"a":1,}', '[,1]', '{,}',
    '{"a"}', '{"a":}', '{a:1}', "{'a':1}", '{"a":1 "b":2}', '[1 2]', '[[[[[]]]]]', '[[[[[]]]]', '[]]', '{}}', '{"a":[}]', '[{]}',
    '0', '-0', '01', '-', '-01', '1.', '.5', '1.5', '1e', '1e+', '1e5', '1E-5', '1.5e+10', '+1', '1_000', 'NaN', 'Infinity', '0x10',
    '"a"', '"', '"\\"', '"\\u00e9"', '"\\u00G9"', '"\\u12"', '"\\x41"', '"\\/"', '"\\b\\f\\n\\r\\t"', '"\\a"', '"tab\there"', '"\u007f"',
    '"é"', '"\ud83d\ude00"', 'true', 'tru', 'truee', 'false', 'null', 'nul', 'True', 'NULL', 'true false', '{} []', '1 2',
    '\t\n\r {"a":1}\n', '\u00a0{}', '\ufeff{}', '\v{}', '{"a":"\u0000"}', '"\\ud800"', '[1,[2,[3,{"x":[4]}]]]', '{"":""}',
  ];
  for (const c of cases) agrees(c);
});

/** A deterministic pseudo-random source, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomValue(rnd: () => number, depth: number): unknown {
  const r = rnd();
  if (depth > 3 || r < 0.3) {
    const pick = Math.floor(rnd() * 7);
    return [null, true, false, Math.floor(rnd() * 1e6) / (rnd() < 0.5 ? 1 : 1000) * (rnd() < 0.5 ? -1 : 1), 'text', 'é "q" \\ \n', 1e21][pick];
  }
  if (r < 0.6) return Array.from({ length: Math.floor(rnd() * 4) }, () => randomValue(rnd, depth + 1));
  return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 4) }, (_, i) => [`k${i}`, randomValue(rnd, depth + 1)]));
}

test('agrees with JSON.parse on thousands of mutated JSON texts', () => {
  const rnd = random(42);
  const alphabet = ['{', '}', '[', ']', ',', ':', '"', '\\', ' ', '\n', '0', '1', '-', '+', '.', 'e', 'E', 'u', 'a', 't', 'n', 'f', 'l', '\u0001', 'é'];
  let accepted = 0;
  for (let n = 0; n < 20_000; n++) {
    let text = JSON.stringify(randomValue(rnd, 0), null, rnd() < 0.3 ? 1 : undefined);
    const edits = Math.floor(rnd() * 3);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(rnd() * (text.length + 1));
      const ch = alphabet[Math.floor(rnd() * alphabet.length)]!;
      const op = rnd();
      text = op < 0.33 ? text.slice(0, at) + ch + text.slice(at) : op < 0.66 ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + ch + text.slice(at + 1);
    }
    agrees(text);
    if (parses(text)) accepted++;
  }
  // Both outcomes were exercised, not just one.
  assert.ok(accepted > 2_000 && accepted < 18_000, `accepted ${accepted} of 20000`);
});
