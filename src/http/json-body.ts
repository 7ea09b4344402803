// JSON request bodies, parsed with an error that says what was malformed.
import { OmniError } from '../core/errors.js';

export function parseJsonBody(body: Buffer, what: string): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (cause) {
    throw new OmniError('invalid_body', `${what} is not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
