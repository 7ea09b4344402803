// One device's MQTT connection, as IoT Hub runs it: CONNECT authenticated with a SAS token, then
// telemetry publishes handed to the one ingestion path, PUBACK once the append is durable.
//
// Reading is paced by what is stored: at most `maxInflight` appends per connection are in flight,
// and while that many are, the connection stops reading its socket (the kernel's buffers then
// push back on the client). A connection also yields after a bounded number of packets per turn
// of the event loop, so one flooding client cannot hold the loop while others wait.
import type { Socket } from 'node:net';
import { isUtf8 } from 'node:buffer';
import mqttPacket from 'mqtt-packet';
import type { DeviceCaller } from '../../auth/authenticator.js';
import { validateDeviceId } from '../../core/device.js';
import { errorCatalogue, OmniError, type ErrorCode } from '../../core/errors.js';
import { MAX_MESSAGE_BYTES, type IncomingMessage } from '../../core/message.js';
import type { Logger } from '../../telemetry/logger.js';
import type { Transport } from '../ingestion.js';
import { isSdkSubscription, messageFromEventTopic, parseUsername } from './iothub-topics.js';
import {
  CONNACK_ACCEPTED, CONNECT, connack, connectProtocol, DISCONNECT, MAX_PACKET_BYTES, PINGREQ, PINGRESP, PUBACK, pubacks, PUBLISH, SUBACK_FAILURE, suback,
  SUBSCRIBE, UNSUBSCRIBE, unsuback,
} from './mqtt-packets.js';

/** Why a connection ended when no error did: the client left, or a rule of the session. */
/** Refusals that mean "later": the connection ends once what is in flight is acknowledged. */
const SLOW_DOWN: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['quota_exceeded', 'overloaded', 'unavailable', 'storage_full']);

export const SESSION_END_REASONS = ['client_disconnect', 'connection_lost', 'keepalive_timeout', 'connect_timeout', 'session_taken_over', 'connection_limit'] as const;

/** Why a connection ended: an error code of the catalogue, or one of SESSION_END_REASONS. */
export type CloseReason = ErrorCode | (typeof SESSION_END_REASONS)[number];

/** What a connection needs of the endpoint that accepted it. */
export interface ConnectionHost {
  readonly hostName: string;
  readonly maxInflight: number;
  readonly connectTimeoutMs: number;
  readonly logger: Logger;
  /** `Authenticator.device`: the device's own token, or a policy token with DeviceConnect. */
  authorize(password: string | undefined, deviceId: string): Promise<DeviceCaller>;
  /** `Ingestion.ingest`: resolves once the messages are durable. */
  ingest(caller: DeviceCaller, messages: readonly IncomingMessage[], transport: Transport): Promise<unknown>;
  /** One more append in flight among all connections' (`mqtt.maxInflightTotal`); false at the limit. */
  takeInflight(): boolean;
  releaseInflight(): void;
  /** The device's session is now this connection: an older one is closed. */
  claim(connection: MqttConnection): void;
  /** Called once, when the connection has ended. */
  ended(connection: MqttConnection, reason: CloseReason): void;
}

const EMPTY = Buffer.alloc(0);
/** Packets handled in one turn of the event loop before the connection lets others run. */
const PACKETS_PER_TURN = 256;
/** IoT Hub's ceiling on the keep-alive wait, in seconds. */
const MAX_KEEPALIVE_WAIT_SECONDS = 1767;

type State = 'awaiting-connect' | 'authenticating' | 'connected' | 'closed';

export class MqttConnection {
  private state: State = 'awaiting-connect';
  /** Bytes received and not yet handled: the rest of a packet, or packets held back by the limits. */
  private buffer: Buffer | undefined;
  /** Appends in flight (QoS 0 and 1). */
  inflight = 0;
  /** Waiting for the authenticator: nothing else is handled meanwhile. */
  private waiting = false;
  /** Ending after the appends in flight (endAfterInflight). */
  private ending = false;
  private paused = false;
  private yieldScheduled = false;
  private lastActivityMs = Date.now();
  private idleLimitMs: number;
  private timer: NodeJS.Timeout | undefined;
  private acks: number[] = [];
  private readonly flushAcks = (): void => this.writeAcks();
  private parser: ReturnType<typeof mqttPacket.parser> | undefined;
  /** The last telemetry topic's bytes and the message fields it decoded to (properties shared, never changed). */
  private lastTopic: Buffer | undefined;
  private lastFields: IncomingMessage | undefined;
  private caller: DeviceCaller | undefined;
  private password: string | undefined;
  deviceId: string | undefined;

  constructor(readonly socket: Socket, readonly listener: string, private readonly host: ConnectionHost) {
    this.idleLimitMs = host.connectTimeoutMs;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.close('connection_lost'));
    socket.on('close', () => this.close('connection_lost'));
    socket.on('drain', () => this.drain());
    this.timer = setTimeout(this.onTimer, this.idleLimitMs);
  }

  get authenticated(): DeviceCaller | undefined {
    return this.state === 'connected' ? this.caller : undefined;
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (this.state === 'closed') return;
    const idle = Date.now() - this.lastActivityMs;
    if (idle >= this.idleLimitMs) {
      this.close(this.state === 'connected' ? 'keepalive_timeout' : 'connect_timeout');
      return;
    }
    this.timer = setTimeout(this.onTimer, this.idleLimitMs - idle);
  };

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.lastActivityMs = Date.now();
    this.buffer = this.buffer === undefined ? chunk : Buffer.concat([this.buffer, chunk]);
    this.drain();
  }

  /** Handles the whole packets received, as far as the limits allow; reads on only when it has handled them all. */
  private drain(): void {
    const buf = this.buffer;
    let offset = 0;
    let budget = PACKETS_PER_TURN;
    let blocked = false;
    if (buf !== undefined) {
      while (this.state !== 'closed') {
        if (this.waiting || this.inflight >= this.host.maxInflight || this.socket.writableNeedDrain) {
          blocked = true;
          break;
        }
        if (budget-- === 0) {
          blocked = true;
          if (!this.yieldScheduled) {
            this.yieldScheduled = true;
            setImmediate(() => {
              this.yieldScheduled = false;
              this.drain();
            });
          }
          break;
        }
        if (buf.length - offset < 1) break;
        // Whatever does not start with a CONNECT (an HTTP request, a TLS handshake on the plain
        // port) is refused at its first byte, not after waiting for a packet it will never complete.
        if (this.state === 'awaiting-connect' && buf[offset] !== 0x10) {
          this.fail(new OmniError('protocol_error', 'The first packet must be CONNECT'));
          return;
        }
        if (buf.length - offset < 2) break;
        // The remaining length: 1 to 4 bytes, 7 bits each.
        let length = 0;
        let multiplier = 1;
        let at = offset + 1;
        let complete = false;
        while (at < buf.length && at - offset <= 4) {
          const byte = buf[at++]!;
          length += (byte & 0x7f) * multiplier;
          multiplier *= 128;
          if ((byte & 0x80) === 0) {
            complete = true;
            break;
          }
        }
        if (!complete) {
          if (at - offset > 4) {
            this.fail(new OmniError('protocol_error', 'Malformed remaining length in a packet header'));
            return;
          }
          break;
        }
        if (length > MAX_PACKET_BYTES) {
          this.fail(new OmniError('message_too_large', `A packet of ${length} bytes is over the limit (messages are at most ${MAX_MESSAGE_BYTES} bytes)`));
          return;
        }
        const end = at + length;
        if (end > buf.length) break;
        this.handle(buf, offset, at, end);
        offset = end;
      }
    }
    if (this.state === 'closed') return;
    this.buffer = buf === undefined || offset >= buf.length ? undefined : offset === 0 ? buf : buf.subarray(offset);
    // With nothing left to handle, reading still waits while a limit holds (it is lifted by an ack or 'drain').
    blocked ||= this.waiting || this.inflight >= this.host.maxInflight || this.socket.writableNeedDrain;
    if (blocked && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!blocked && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private handle(buf: Buffer, start: number, bodyStart: number, end: number): void {
    const first = buf[start]!;
    const type = first >> 4;
    if (this.state === 'awaiting-connect') {
      if (type !== CONNECT) return this.fail(new OmniError('protocol_error', 'The first packet must be CONNECT'));
      return this.onConnect(buf, start, bodyStart, end);
    }
    switch (type) {
      case PUBLISH:
        return this.onPublish(buf, first, bodyStart, end);
      case PINGREQ:
        if (first !== 0xc0 || end !== bodyStart) return this.fail(new OmniError('protocol_error', 'Malformed PINGREQ'));
        this.socket.write(PINGRESP);
        return;
      case SUBSCRIBE:
      case UNSUBSCRIBE:
        return this.onSubscription(buf.subarray(start, end));
      case DISCONNECT:
        return this.close('client_disconnect');
      case PUBACK:
        // The endpoint publishes nothing, so there is nothing to acknowledge; harmless.
        return;
      case CONNECT:
        return this.fail(new OmniError('protocol_error', 'A second CONNECT on one connection'));
      default:
        return this.fail(new OmniError('protocol_error', `Packet type ${type} is not expected from a device`));
    }
  }

  /** Decodes one whole packet with mqtt-packet (packets off the hot path); undefined after failing the connection. */
  private decode(packet: Buffer): mqttPacket.Packet | undefined {
    const parser = (this.parser ??= mqttPacket.parser({ protocolVersion: 4 }));
    let decoded: mqttPacket.Packet | undefined;
    let error: Error | undefined;
    const onPacket = (p: mqttPacket.Packet): void => {
      decoded = p;
    };
    const onError = (e: Error): void => {
      error = e;
    };
    parser.on('packet', onPacket);
    parser.on('error', onError);
    try {
      parser.parse(packet);
    } finally {
      parser.off('packet', onPacket);
      parser.off('error', onError);
    }
    if (error || !decoded) {
      this.fail(new OmniError('protocol_error', `Malformed packet: ${error?.message ?? 'incomplete'}`));
      return undefined;
    }
    return decoded;
  }

  private onConnect(buf: Buffer, start: number, bodyStart: number, end: number): void {
    const protocol = connectProtocol(buf, bodyStart, end);
    if (!protocol || (protocol.name !== 'MQTT' && protocol.name !== 'MQIsdp')) return this.fail(new OmniError('protocol_error', 'Not an MQTT CONNECT'));
    if (protocol.name !== 'MQTT' || protocol.level !== 4) {
      return this.refuse(new OmniError('unsupported_protocol_version', `Protocol ${protocol.name} level ${protocol.level} is not supported; use MQTT 3.1.1 (level 4)`));
    }
    const packet = this.decode(buf.subarray(start, end));
    if (!packet) return;
    const connect = packet as mqttPacket.IConnectPacket;
    this.state = 'authenticating';
    this.waiting = true;
    const keepalive = connect.keepalive ?? 0;
    this.idleLimitMs = keepalive === 0 ? 0 : Math.min(keepalive * 1.5, MAX_KEEPALIVE_WAIT_SECONDS) * 1000;
    this.authenticate(connect).then((caller) => {
      if (this.state === 'closed') return;
      this.caller = caller;
      this.deviceId = caller.device.deviceId;
      this.state = 'connected';
      this.host.claim(this);
      // sessionPresent is always 0: the gateway keeps no session state between connections.
      this.socket.write(connack(CONNACK_ACCEPTED));
      if (this.timer) clearTimeout(this.timer);
      this.timer = this.idleLimitMs === 0 ? undefined : setTimeout(this.onTimer, this.idleLimitMs);
      this.waiting = false;
      this.drain();
    }, (err: unknown) => this.refuse(err));
  }

  private async authenticate(connect: mqttPacket.IConnectPacket): Promise<DeviceCaller> {
    const deviceId = validateDeviceId(connect.clientId);
    const username = connect.username === undefined ? undefined : parseUsername(connect.username);
    if (!username) throw new OmniError('unauthorized', `The username must be '${this.host.hostName}/${deviceId}/?api-version=2021-04-12'`);
    if (username.hostName.toLowerCase() !== this.host.hostName.toLowerCase()) {
      throw new OmniError('unauthorized', `The username names hub '${username.hostName}', not '${this.host.hostName}'`);
    }
    if (username.moduleId !== undefined) throw new OmniError('unauthorized', 'Module identities are not supported');
    if (username.deviceId !== deviceId) throw new OmniError('unauthorized', `The username names device '${username.deviceId}', the client id '${deviceId}'`);
    this.password = connect.password?.toString('utf8');
    return this.host.authorize(this.password, deviceId);
  }

  /** Re-checks the credential (token expiry, a disabled device, rotated keys, a new tenant); closes the connection when it no longer holds. */
  async revalidate(): Promise<void> {
    if (this.state !== 'connected') return;
    try {
      const caller = await this.host.authorize(this.password, this.deviceId!);
      if (this.state === 'connected') this.caller = caller;
    } catch (err) {
      this.fail(err);
    }
  }

  private onPublish(buf: Buffer, first: number, bodyStart: number, end: number): void {
    const qos = (first >> 1) & 0x03;
    if (qos === 3) return this.fail(new OmniError('protocol_error', 'A PUBLISH with both QoS bits set'));
    if (qos === 2) return this.fail(new OmniError('qos_not_supported'));
    if (bodyStart + 2 > end) return this.fail(new OmniError('protocol_error', 'Malformed PUBLISH: no topic'));
    const topicEnd = bodyStart + 2 + buf.readUInt16BE(bodyStart);
    let payloadStart = topicEnd;
    let packetId = 0;
    if (qos === 1) {
      payloadStart += 2;
      if (payloadStart > end) return this.fail(new OmniError('protocol_error', 'Malformed PUBLISH: no packet identifier'));
      packetId = buf.readUInt16BE(topicEnd);
      if (packetId === 0) return this.fail(new OmniError('protocol_error', 'Malformed PUBLISH: packet identifier 0'));
    }
    if (payloadStart > end || topicEnd === bodyStart + 2) return this.fail(new OmniError('protocol_error', 'Malformed PUBLISH: bad topic length'));
    const payloadLength = end - payloadStart;
    if (payloadLength > MAX_MESSAGE_BYTES) {
      return this.fail(new OmniError('message_too_large', `The message is ${payloadLength} bytes; the limit is ${MAX_MESSAGE_BYTES}`));
    }
    const topicBytes = buf.subarray(bodyStart + 2, topicEnd);
    // A device usually repeats its topic (a reader's property bag rarely changes): what it decoded
    // to is kept, so the next publish on it skips the checks and the decoding.
    let fields = this.lastTopic !== undefined && topicBytes.equals(this.lastTopic) ? this.lastFields : undefined;
    if (fields === undefined) {
      if (!isUtf8(topicBytes)) return this.fail(new OmniError('protocol_error', 'The topic is not UTF-8'));
      const topic = topicBytes.toString('utf8');
      if (/[#+\0]/.test(topic)) return this.fail(new OmniError('protocol_error', 'A topic name holds no wildcard and no NUL'));
      try {
        fields = messageFromEventTopic(topic, EMPTY, this.deviceId!);
      } catch (err) {
        return this.fail(err);
      }
      this.lastTopic = Buffer.from(topicBytes);
      this.lastFields = fields;
    }
    // The body is a view of the received bytes: it lives until the append has copied it.
    const body = buf.subarray(payloadStart, end);
    const message: IncomingMessage = {
      body,
      // IoT Hub marks a retained publish with an application property (RETAIN itself is not kept).
      properties: (first & 0x01) === 0 ? fields.properties : { ...fields.properties, 'mqtt-retain': 'true' },
      messageId: fields.messageId, correlationId: fields.correlationId, contentType: fields.contentType, contentEncoding: fields.contentEncoding,
    };
    // Past the endpoint's limit the server is overloaded: waiting would hold the message in memory
    // for as long as the overload lasts, so the publish is refused as a quota's is.
    if (!this.host.takeInflight()) return this.endAfterInflight('overloaded');
    this.inflight++;
    this.host.ingest(this.caller!, [message], 'mqtt').then(() => {
      this.inflight--;
      this.host.releaseInflight();
      if (this.state === 'closed') return;
      if (qos === 1) {
        if (this.acks.length === 0) process.nextTick(this.flushAcks);
        this.acks.push(packetId);
      }
      if (this.paused) this.drain();
    }, (err: unknown) => {
      this.inflight--;
      this.host.releaseInflight();
      if (err instanceof OmniError && SLOW_DOWN.has(err.code)) this.endAfterInflight(err.code);
      else this.fail(err);
    });
  }

  /** Acknowledgements of one commit, in one write, in the order the messages came (MQTT requires it). */
  private writeAcks(): void {
    if (this.state === 'closed' || this.acks.length === 0) return;
    const ids = this.acks;
    this.acks = [];
    this.socket.write(pubacks(ids));
  }

  private onSubscription(bytes: Buffer): void {
    const packet = this.decode(bytes);
    if (!packet) return;
    if (packet.cmd === 'unsubscribe') {
      this.socket.write(unsuback(packet.messageId!));
      return;
    }
    const subscribe = packet as mqttPacket.ISubscribePacket;
    const granted = subscribe.subscriptions.map((s) => (isSdkSubscription(s.topic, this.deviceId!) ? Math.min(s.qos, 1) : SUBACK_FAILURE));
    this.socket.write(suback(subscribe.messageId!, granted));
  }

  /** Refuses a CONNECT: CONNACK with the error's return code, then the connection closes. */
  private refuse(err: unknown): void {
    if (this.state === 'closed') return;
    const code = err instanceof OmniError ? err.code : 'internal';
    if (code === 'internal') this.host.logger.error('MQTT connect failed', { err });
    const spec = err instanceof OmniError ? err.spec : errorCatalogue.internal;
    this.socket.write(connack(spec.connack ?? 5));
    this.close(code, true);
  }

  /**
   * A refusal that asks the device to slow down (its quota, an overloaded log): reading stops, the
   * appends in flight finish and their PUBACKs go out, then the connection closes. Closing at once
   * would drop the PUBACKs of messages already stored, and the device would send them all again.
   */
  private endAfterInflight(reason: CloseReason): void {
    if (this.state === 'closed' || this.ending) return;
    this.ending = true;
    this.waiting = true;
    this.socket.pause();
    this.host.logger.debug('MQTT connection refused for now', { reason, deviceId: this.deviceId });
    const finish = (): void => {
      if (this.state === 'closed') return;
      if (this.inflight > 0) {
        setTimeout(finish, 5);
        return;
      }
      this.writeAcks();
      this.close(reason, true);
    };
    finish();
  }

  /** A failure after CONNECT: MQTT 3.1.1 can only close the connection (IoT Hub does the same). */
  fail(err: unknown): void {
    if (this.state === 'closed') return;
    const code = err instanceof OmniError ? err.code : 'internal';
    if (code === 'internal') this.host.logger.error('MQTT connection failed', { err, deviceId: this.deviceId });
    else this.host.logger.debug('MQTT connection closed', { reason: code, message: (err as Error).message, deviceId: this.deviceId });
    this.close(code);
  }

  /** Ends the connection; `flush` lets what was written (a CONNACK) reach the client first. */
  close(reason: CloseReason, flush = false): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.buffer = undefined;
    if (flush) this.socket.destroySoon();
    else this.socket.destroy();
    this.host.ended(this, reason);
  }

  /** At shutdown: stops reading, lets the appends in flight finish and their PUBACKs go out, then closes. */
  async shutdown(graceMs: number): Promise<void> {
    if (this.state === 'closed') return;
    this.waiting = true;
    this.socket.pause();
    const deadline = Date.now() + graceMs;
    while (this.inflight > 0 && Date.now() < deadline && (this.state as State) !== 'closed') await new Promise((r) => setTimeout(r, 5));
    this.writeAcks();
    this.close('shutting_down', true);
  }
}
