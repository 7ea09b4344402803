import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import common from 'azure-iot-common';
import { generateKey, isExpired, parseSasToken, scopeCovers, signatureMatches, signSasToken } from '../../src/auth/sas.js';
import { OmniError } from '../../src/core/errors.js';

// The SDK is CommonJS with an object-literal export, so ESM sees only its default export.
const { SharedAccessSignature, encodeUriComponentStrict: sdkEncode } = common;
const key = generateKey();
const other = generateKey();
const now = Date.now();
const inAnHour = Math.floor(now / 1000) + 3600;

/** An independent signer, written from the IoT Hub docs, to check ours against. */
function docsSigner(sr: string, keyB64: string, se: number, extra: Record<string, string> = {}, order = ['sr', 'sig', 'se', 'skn']): string {
  const sig = createHmac('sha256', Buffer.from(keyB64, 'base64')).update(`${sr}\n${se}`).digest('base64');
  const fields: Record<string, string> = { sr, sig: encodeURIComponent(sig), se: String(se), ...extra };
  return `SharedAccessSignature ${order.filter((f) => fields[f] !== undefined).map((f) => `${f}=${fields[f]}`).join('&')}`;
}

describe('SAS tokens', () => {
  test('a token from the official azure-iot-common signer verifies', () => {
    const sr = sdkEncode('myhub/devices/dev1');
    const token = SharedAccessSignature.create(sr, undefined as unknown as string, key, inAnHour).toString();
    const parsed = parseSasToken(token);
    assert.equal(parsed.resource, 'myhub/devices/dev1');
    assert.equal(parsed.keyName, undefined);
    assert.ok(signatureMatches(parsed, [key]));
    assert.ok(!signatureMatches(parsed, [other]));
  });

  test('a policy token from the official signer (sr, sig, skn, se order) verifies', () => {
    const token = SharedAccessSignature.create('myhub', 'iothubowner', key, inAnHour).toString();
    const parsed = parseSasToken(token);
    assert.equal(parsed.keyName, 'iothubowner');
    assert.ok(signatureMatches(parsed, [other, key]), 'secondary key matches');
  });

  test('fields in any order; the HMAC covers sr as received, lower-case escapes included', () => {
    const sr = 'myhub%2fdevices%2fdev1';
    for (const order of [['se', 'sig', 'sr'], ['sig', 'sr', 'se'], ['sr', 'se', 'sig']]) {
      const parsed = parseSasToken(docsSigner(sr, key, inAnHour, {}, order));
      assert.equal(parsed.resource, 'myhub/devices/dev1');
      assert.ok(signatureMatches(parsed, [key]), order.join());
    }
    // Re-encoding sr with upper-case escapes would change the signed text: it must not verify.
    const tampered = docsSigner(sr, key, inAnHour).replace('myhub%2fdevices', 'myhub%2Fdevices');
    assert.ok(!signatureMatches(parseSasToken(tampered), [key]));
  });

  test('our signer and the official parser agree', () => {
    const token = signSasToken({ resource: 'myhub/devices/dev1', key, expiry: inAnHour });
    const sdk = SharedAccessSignature.parse(token);
    assert.equal(sdk.sr, 'myhub%2Fdevices%2Fdev1');
    const expected = createHmac('sha256', Buffer.from(key, 'base64')).update(`${sdk.sr}\n${sdk.se}`).digest('base64');
    assert.equal(decodeURIComponent(sdk.sig), expected);
  });

  test('expiry allows five minutes of clock skew', () => {
    const t = (se: number) => parseSasToken(docsSigner('h', key, se));
    const nowS = Math.floor(now / 1000);
    assert.ok(!isExpired(t(nowS - 299), now));
    assert.ok(isExpired(t(nowS - 301), now));
  });

  test('malformed tokens are refused with a clear message', () => {
    for (const bad of [undefined, '', 'Bearer x', 'SharedAccessSignature', 'SharedAccessSignature sr=a&sig=b', 'SharedAccessSignature sr=a&sig=b&se=soon',
      'SharedAccessSignature sr=a&sr=b&sig=c&se=1', 'SharedAccessSignature sr=%zz&sig=c&se=1', 'SharedAccessSignature junk']) {
      assert.throws(() => parseSasToken(bad), (err: unknown) => err instanceof OmniError && err.code === 'unauthorized', String(bad));
    }
  });

  test('scope is a segment-wise prefix; the host is case-insensitive, device ids are not', () => {
    assert.ok(scopeCovers('hub', 'hub/devices/a'));
    assert.ok(scopeCovers('HUB/devices/', 'hub/devices/a'));
    assert.ok(scopeCovers('hub/devices/a', 'hub/devices/a'));
    assert.ok(!scopeCovers('hub/devices/a', 'hub/devices/ab'));
    assert.ok(!scopeCovers('hub/devices/A', 'hub/devices/a'));
    assert.ok(!scopeCovers('hub/devices/a', 'hub'));
    assert.ok(!scopeCovers('otherhub', 'hub/devices/a'));
  });
});
