// The cursor a reader gets with each page and hands back to commit it: base64url JSON of the
// group, its generation, the reader and the next sequence number per partition, followed by an
// HMAC under a server secret. Clients cannot forge positions or commit to another group, and a
// tampered cursor is a clear 400 rather than a silent jump.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { OmniError } from '../core/errors.js';
import type { PartitionId, SequenceNumber } from '../core/message.js';

export interface Cursor {
  readonly group: string;
  readonly generation: string;
  /** The reader that was handed the page ('' for the group's anonymous reader). */
  readonly reader: string;
  /** Per partition, the sequence number after the last message handed out. */
  readonly positions: ReadonlyMap<PartitionId, SequenceNumber>;
}

interface CursorJson {
  g: string;
  n: string;
  r: string;
  p: Array<[number, number]>;
}

const MAC_BYTES = 16;
const MAX_CURSOR_CHARS = 8_192;

export class CursorCodec {
  constructor(private readonly key: Buffer) {}

  private mac(payload: string): Buffer {
    return createHmac('sha256', this.key).update(payload).digest().subarray(0, MAC_BYTES);
  }

  encode(c: Cursor): string {
    const json: CursorJson = { g: c.group, n: c.generation, r: c.reader, p: [...c.positions] };
    const payload = Buffer.from(JSON.stringify(json)).toString('base64url');
    return `${payload}.${this.mac(payload).toString('base64url')}`;
  }

  /** Verifies and decodes a cursor for `group`; any other cursor is `invalid_cursor`. */
  decode(text: unknown, group: string): Cursor {
    if (typeof text !== 'string' || text.length === 0 || text.length > MAX_CURSOR_CHARS) throw invalid('the cursor must be the string a read returned');
    const dot = text.indexOf('.');
    const payload = text.slice(0, dot);
    const given = Buffer.from(text.slice(dot + 1), 'base64url');
    if (dot < 0 || given.length !== MAC_BYTES || !timingSafeEqual(given, this.mac(payload))) {
      throw invalid('the cursor was not issued by this server or has been altered');
    }
    // Signed by us, so the shape is ours; still checked, since the key may predate a format change.
    const json = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<CursorJson>;
    if (typeof json.g !== 'string' || typeof json.n !== 'string' || typeof json.r !== 'string' || !Array.isArray(json.p)) throw invalid('unknown cursor format');
    if (json.g !== group) throw invalid(`the cursor belongs to consumer group '${json.g}', not '${group}'`);
    return { group: json.g, generation: json.n, reader: json.r, positions: new Map(json.p) };
  }
}

function invalid(why: string): OmniError {
  return new OmniError('invalid_cursor', `Invalid cursor: ${why}`);
}
