// Clients that send exactly the bytes they are given: the hostile suite needs requests and packets
// that fetch and mqtt.js refuse to build (control bytes in headers, duplicated fields, broken
// framing), so both speak to the server over a bare socket, one connection per case.
import { connect } from 'node:net';
import mqttPacket from 'mqtt-packet';

export interface RawResponse {
  /** 0 when the server closed the connection without an answer. */
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

const ANSWER_TIMEOUT_MS = 10_000;

function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = parseInt(body.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** Parses one HTTP/1.1 response out of everything the server sent before closing. */
export function parseResponse(bytes: Buffer): RawResponse {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, body: bytes };
  const [statusLine, ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = bytes.subarray(end + 4);
  if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
  else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  return { status, headers, body };
}

/** Sends `request` on a fresh connection and collects what comes back until the server closes. */
export function rawHttp(port: number, request: Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms`));
    }, ANSWER_TIMEOUT_MS);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      // One response is all a case wants: stop at its end rather than wait for keep-alive to lapse.
      const all = Buffer.concat(chunks);
      const r = parseResponse(all);
      const length = r.headers['content-length'];
      if (r.status > 0 && length !== undefined && r.body.length >= Number(length)) socket.destroy();
    });
    // The server may refuse before reading everything: a reset then is an answer, not a failure.
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(parseResponse(Buffer.concat(chunks)));
    });
    socket.write(request);
  });
}

export interface HttpRequest {
  readonly method: string;
  readonly path: string;
  /** Written in order, as given (names and values may hold any bytes). */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body?: Buffer;
  /** The body starts with the case's own framing headers and blank line; no Content-Length is added. */
  readonly rawFraming?: boolean;
}

export function encodeRequest(r: HttpRequest): Buffer {
  // An empty path means `method` is the whole broken request line.
  const lines = [r.path === '' ? `${r.method} HTTP/1.1` : `${r.method} ${r.path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [name, value] of r.headers) lines.push(`${name}: ${value}`);
  // With raw framing the body starts with the case's own header lines and blank line.
  if (r.rawFraming) return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n`, 'utf8'), r.body ?? Buffer.alloc(0)]);
  lines.push(`Content-Length: ${r.body?.length ?? 0}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8'), r.body ?? Buffer.alloc(0)]);
}

export interface MqttExchange {
  /** Every packet the server sent, decoded. */
  readonly packets: mqttPacket.Packet[];
  /** True when the server closed the connection; false when it still answered a final PINGREQ. */
  readonly closedByServer: boolean;
}

const PINGREQ = Buffer.from([0xc0, 0x00]);
/** Over the largest packet the endpoint takes (a 256 KB message with a 64 KB topic). */
const FILLER_BYTES = 330 * 1024;
const FILLER_AFTER_MS = 300;
const DISCONNECT = Buffer.from([0xe0, 0x00]);

/**
 * Sends `bytes` then a PINGREQ on a fresh connection. Either the server closes the connection (it
 * refused something) or it answers the PINGREQ, which, as packets are handled in order, comes
 * after its answers to everything before it.
 */
export function mqttExchange(port: number, bytes: Buffer, awaitAcks: readonly number[] = []): Promise<MqttExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const packets: mqttPacket.Packet[] = [];
    let pinged = false;
    let parseFailed = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms: ${packets.map((p) => p.cmd).join(',')}`));
    }, ANSWER_TIMEOUT_MS);
    // A PUBACK follows its commit, so it may come after the PINGRESP: wait for the ones awaited.
    const waitingFor = new Set(awaitAcks);
    let pingresp = false;
    parser.on('packet', (p: mqttPacket.Packet) => {
      packets.push(p);
      if (p.cmd === 'pingresp') pingresp = true;
      if (p.cmd === 'puback') waitingFor.delete(p.messageId!);
      if (pingresp && waitingFor.size === 0 && !pinged) {
        pinged = true;
        socket.end(DISCONNECT);
      }
    });
    parser.on('error', () => { parseFailed = true; });
    socket.on('data', (d: Buffer) => { if (!parseFailed) parser.parse(d); });
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      if (parseFailed) reject(new Error('the server sent bytes that are not MQTT'));
      else resolve({ packets, closedByServer: !pinged });
    });
    socket.write(Buffer.concat([bytes, PINGREQ]));
    // A packet whose declared length runs past what was sent waits for the rest, as a stream
    // protocol must: when nothing comes back soon, bytes enough to complete any packet the limit
    // allows (zeros: packet type 0 is reserved) must end the connection.
    // A case that awaits PUBACKs is well formed and waits for its commits instead.
    const filler = awaitAcks.length > 0 ? undefined : setTimeout(() => {
      if (!pingresp && !socket.destroyed) socket.write(Buffer.alloc(FILLER_BYTES));
    }, FILLER_AFTER_MS);
    socket.once('close', () => clearTimeout(filler));
  });
}

/** Runs `work` over `items` with at most `lanes` at once; lane `i` always gets the same index. */
export async function inLanes<T>(items: readonly T[], lanes: number, work: (item: T, lane: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: lanes }, async (_, lane) => {
    while (next < items.length) await work(items[next++]!, lane);
  }));
}
