// The few MQTT 3.1.1 packets the endpoint writes, and the framing it reads with. Packets the
// endpoint receives rarely (CONNECT, SUBSCRIBE, UNSUBSCRIBE) are decoded by mqtt-packet; PUBLISH,
// the one on the hot path, is decoded in mqtt-connection.ts without building a packet object.
import { MAX_MESSAGE_BYTES } from '../../core/message.js';

export const CONNECT = 1;
export const PUBLISH = 3;
export const PUBACK = 4;
export const SUBSCRIBE = 8;
export const UNSUBSCRIBE = 10;
export const PINGREQ = 12;
export const DISCONNECT = 14;

/** CONNACK return codes of MQTT 3.1.1. */
export const CONNACK_ACCEPTED = 0;
export const SUBACK_FAILURE = 0x80;

/**
 * The largest packet read at all: a publish of IoT Hub's largest message with the longest topic
 * MQTT allows (a CONNECT's fields are far smaller in practice, and bounded by the same). A packet
 * announcing more is refused from its header, before any of it is buffered.
 */
export const MAX_PACKET_BYTES = 2 + 0xffff + 2 + MAX_MESSAGE_BYTES;

export function connack(returnCode: number): Buffer {
  return Buffer.from([0x20, 0x02, 0x00, returnCode]);
}

export const PINGRESP = Buffer.from([0xd0, 0x00]);

/** PUBACKs for `ids`, written as one buffer: acknowledgements of one commit go out in one write. */
export function pubacks(ids: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(ids.length * 4);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    out[i * 4] = 0x40;
    out[i * 4 + 1] = 0x02;
    out[i * 4 + 2] = id >> 8;
    out[i * 4 + 3] = id & 0xff;
  }
  return out;
}

/** The remaining-length field: 1 to 4 bytes of 7 bits each, least significant first. */
function remainingLength(length: number): number[] {
  const bytes: number[] = [];
  do {
    let b = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) b |= 0x80;
    bytes.push(b);
  } while (length > 0);
  return bytes;
}

export function suback(messageId: number, granted: readonly number[]): Buffer {
  return Buffer.from([0x90, ...remainingLength(2 + granted.length), messageId >> 8, messageId & 0xff, ...granted]);
}

export function unsuback(messageId: number): Buffer {
  return Buffer.from([0xb0, 0x02, messageId >> 8, messageId & 0xff]);
}

/**
 * The protocol name and level a CONNECT body declares (`MQTT` 4 for 3.1.1, `MQIsdp` 3 for 3.1,
 * `MQTT` 5 for 5.0), read before decoding the rest, so a client of another version gets CONNACK
 * 0x01 rather than a decoding error. Undefined when the body is too short to say.
 */
export function connectProtocol(buf: Buffer, bodyStart: number, end: number): { readonly name: string; readonly level: number } | undefined {
  if (bodyStart + 2 > end) return undefined;
  const nameLength = buf.readUInt16BE(bodyStart);
  const levelAt = bodyStart + 2 + nameLength;
  if (nameLength > 6 || levelAt >= end) return undefined;
  return { name: buf.toString('latin1', bodyStart + 2, levelAt), level: buf[levelAt]! };
}
