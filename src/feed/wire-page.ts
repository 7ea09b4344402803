// A page of messages as JSON bytes, written as the log scans them into one buffer that becomes the
// response as it is (sent with a precise content-length): no array of messages, no copy of the page.
import type { ServerResponse } from 'node:http';
import type { PartitionId } from '../core/message.js';
import type { MessageVisitor } from '../log/event-log.js';
import type { BatchSink } from './consumer-groups.js';
import { ByteWriter, writeMessage } from './wire-message.js';

const COMMA = 0x2c;
/** Room for a typical message, so the page's buffer rarely grows while it is written. */
const MESSAGE_BYTES_GUESS = 768;
/** Larger pages grow as they go rather than reserve megabytes for messages that may not exist. */
const MAX_RESERVED_MESSAGES = 1_000;

/**
 * `prefix` + a JSON array of the messages scanned into it + the suffix given to `json`. Each
 * partition's messages stay together and in order: a partition topped up after others were read
 * (consumer groups share a page out that way) has the extra messages kept aside and joined after
 * its own at the end, the one case that copies.
 */
export class WirePage implements BatchSink {
  private readonly w: ByteWriter;
  private count = 0;
  /** Bytes to reserve at the first message: a long-poll that finds nothing allocates next to nothing. */
  private readonly expectedBytes: number;
  /** Where each partition's messages end in `w`, in the order the partitions were written. */
  private readonly ends = new Map<PartitionId, number>();
  private last: PartitionId | undefined;
  private late: Map<PartitionId, ByteWriter> | undefined;
  private lateBytes = 0;

  /**
   * `maxBytes`: once the messages written reach it, the page takes no more (it always takes one,
   * so a message larger than the cap still goes out, alone).
   */
  constructor(prefix: string, expected: number, private readonly withSystemProperties: boolean, private readonly maxBytes = Infinity) {
    this.w = new ByteWriter(prefix.length * 3 + 256);
    this.w.text(`${prefix}[`);
    this.expectedBytes = Math.min(expected, MAX_RESERVED_MESSAGES) * MESSAGE_BYTES_GUESS;
  }

  visitor(partition: PartitionId): MessageVisitor {
    if (partition !== this.last && this.ends.has(partition)) return this.lateVisitor(partition);
    return (seq, enqueuedMs, shared, messageId, correlationId, body) => {
      if (this.count++ > 0) this.w.byte(COMMA);
      else this.w.reserve(Math.min(this.expectedBytes, this.maxBytes));
      writeMessage(this.w, this.withSystemProperties, partition, seq, enqueuedMs, shared, messageId, correlationId, body);
      this.ends.set(partition, this.w.length);
      this.last = partition;
      return !this.full;
    };
  }

  private lateVisitor(partition: PartitionId): MessageVisitor {
    this.late ??= new Map();
    let w = this.late.get(partition);
    if (w === undefined) this.late.set(partition, (w = new ByteWriter()));
    const late = w;
    let before = late.length;
    return (seq, enqueuedMs, shared, messageId, correlationId, body) => {
      late.byte(COMMA); // it follows the partition's own messages, of which there is at least one
      writeMessage(late, this.withSystemProperties, partition, seq, enqueuedMs, shared, messageId, correlationId, body);
      this.lateBytes += late.length - before;
      before = late.length;
      return !this.full;
    };
  }

  get full(): boolean {
    return this.w.length + this.lateBytes >= this.maxBytes;
  }

  /** The whole page; valid until the page is written to again. */
  json(suffix: string): Buffer {
    this.w.text(`]${suffix}`);
    const all = this.w.done();
    if (this.late === undefined) return all;
    const parts: Buffer[] = [];
    let from = 0;
    for (const [partition, end] of this.ends) {
      parts.push(all.subarray(from, end));
      const late = this.late.get(partition);
      if (late !== undefined) parts.push(late.done());
      from = end;
    }
    parts.push(all.subarray(from));
    return Buffer.concat(parts);
  }
}

/** Sends JSON bytes already built (the shell's `ctx.json` would serialise an object again). */
export function sendJson(res: ServerResponse, status: number, json: Buffer): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': json.length });
  res.end(json);
}
