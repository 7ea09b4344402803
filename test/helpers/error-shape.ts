// The two error shapes of docs/http-api.md, checked whole: clients parse them, so a missing field
// or an extra one is as much a defect as a wrong code.
import assert from 'node:assert/strict';

export interface ExpectedError {
  readonly status: number;
  /** The catalogue code on Omnistream's routes; IoT Hub's error name (iothub-errorcode) on IoT Hub's. */
  readonly code: string;
  readonly message?: RegExp;
}

/** IoT Hub's routes (`/devices…`) answer in IoT Hub's shape, every other route in Omnistream's. */
export function errorStyleOf(path: string): 'iothub' | 'omnistream' {
  return path.startsWith('/devices') ? 'iothub' : 'omnistream';
}

export async function assertErrorResponse(res: Response, style: 'iothub' | 'omnistream', expected: ExpectedError): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, expected.status, text);
  assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
  const body = JSON.parse(text) as Record<string, unknown>;
  if (style === 'iothub') {
    assert.equal(res.headers.get('iothub-errorcode'), expected.code);
    assert.deepEqual(Object.keys(body).sort(), ['ExceptionMessage', 'Message'], text);
    // The Node SDKs split Message on ';' to find the code, so the text after it has none.
    assert.match(body.Message as string, new RegExp(`^ErrorCode:${expected.code};[^;]+$`));
    assert.match(body.ExceptionMessage as string, /^Tracking ID:[0-9a-f]{32}-G:0-TimeStamp:\d\d\/\d\d\/\d{4} \d\d:\d\d:\d\d$/);
    if (expected.message) assert.match(body.Message as string, expected.message);
  } else {
    assert.equal(res.headers.get('iothub-errorcode'), null);
    assert.deepEqual(Object.keys(body), ['error'], text);
    const error = body.error as Record<string, unknown>;
    assert.deepEqual(Object.keys(error).sort(), ['code', 'message'], text);
    assert.equal(error.code, expected.code);
    assert.equal(typeof error.message, 'string');
    assert.notEqual(error.message, '');
    if (expected.message) assert.match(error.message as string, expected.message);
  }
  if (expected.status === 405) assert.ok(res.headers.get('allow'), 'a 405 says which methods are allowed');
}
