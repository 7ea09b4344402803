// The bridge's MQTT 3.1.1 client: a persistent session on the store broker, subscribed with QoS 1.
// It exists because a general client handles one incoming message at a time (the next is not read
// before the last is acknowledged): with an append to wait for per message, that holds a bridge to a
// few thousand messages a second, and a broker drops what it cannot queue for a slow session. Here
// every message the broker sends is handled at once; acknowledgements still go out one by one, in
// the order the messages came (MQTT 3.1.1, 4.6), each only once its handler says it is stored.
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import mqttPacket from 'mqtt-packet';

export interface BrokerSessionOptions {
  readonly url: URL;
  readonly clientId: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly ca: Buffer | undefined;
  readonly filters: readonly string[];
  readonly keepaliveSeconds: number;
}

export interface SessionEvents {
  /** A message; resolve once stored (or known never to be). A rejection leaves it unacknowledged. */
  message(topic: string, payload: Buffer): Promise<void>;
  connected(sessionPresent: boolean): void;
  disconnected(why: string): void;
}

const FIRST_RECONNECT_MS = 1_000;
const MAX_RECONNECT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 10_000;

/** An acknowledgement owed to the broker: sent when `ready`, after every earlier one. */
interface Owed {
  readonly id: number;
  ready: boolean;
}

export class BrokerSession {
  private socket: Socket | undefined;
  private closed = false;
  private attempts = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private lastHeard = 0;
  private owed: Owed[] = [];
  private nextSubscribeId = 1;

  constructor(private readonly options: BrokerSessionOptions, private readonly events: SessionEvents) {}

  start(): void {
    this.open();
  }

  private open(): void {
    if (this.closed) return;
    const { url } = this.options;
    const port = Number(url.port) || (url.protocol === 'mqtts:' ? 8883 : 1883);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const socket = url.protocol === 'mqtts:'
      ? tlsConnect({ host, port, ca: this.options.ca, servername: host, minVersion: 'TLSv1.2' })
      : tcpConnect({ host, port });
    this.socket = socket;
    this.owed = [];
    socket.setNoDelay(true);
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (packet) => this.onPacket(socket, packet));
    parser.on('error', (err) => this.drop(socket, `a malformed packet from the broker: ${err.message}`));
    socket.on('data', (chunk: Buffer) => {
      this.lastHeard = Date.now();
      parser.parse(chunk);
    });
    socket.once(url.protocol === 'mqtts:' ? 'secureConnect' : 'connect', () => {
      this.write(socket, {
        cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: false, clientId: this.options.clientId,
        keepalive: this.options.keepaliveSeconds, username: this.options.username,
        password: this.options.password === undefined ? undefined : Buffer.from(this.options.password),
      });
    });
    socket.on('error', (err) => this.drop(socket, err.message));
    socket.on('close', () => this.drop(socket, 'the connection closed'));
    this.connectTimer = setTimeout(() => this.drop(socket, 'the broker did not accept the connection in time'), CONNECT_TIMEOUT_MS);
  }

  private onPacket(socket: Socket, packet: mqttPacket.Packet): void {
    switch (packet.cmd) {
      case 'connack': {
        clearTimeout(this.connectTimer);
        if (packet.returnCode !== 0) {
          this.drop(socket, `the broker refused the connection (CONNACK ${packet.returnCode}${packet.returnCode === 4 || packet.returnCode === 5 ? ': bad credentials' : ''})`);
          return;
        }
        this.attempts = 0;
        this.events.connected(packet.sessionPresent === true);
        // Subscribing again is harmless with a session present, and needed without one.
        this.write(socket, { cmd: 'subscribe', messageId: this.nextSubscribeId++, subscriptions: this.options.filters.map((topic) => ({ topic, qos: 1 as const })) });
        this.pingTimer = setInterval(() => {
          if (Date.now() - this.lastHeard > this.options.keepaliveSeconds * 1500) this.drop(socket, 'the broker went silent');
          else this.write(socket, { cmd: 'pingreq' });
        }, (this.options.keepaliveSeconds * 1000) / 2);
        return;
      }
      case 'suback': {
        const refused = packet.granted.map((g, i) => (g === 128 ? this.options.filters[i] : undefined)).filter((f) => f !== undefined);
        if (refused.length > 0) this.events.disconnected(`the broker refused the subscriptions ${refused.join(', ')}`);
        return;
      }
      case 'publish': {
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        if (packet.qos === 0) {
          void this.events.message(packet.topic, payload).catch(() => {});
          return;
        }
        const owed: Owed = { id: packet.messageId!, ready: false };
        this.owed.push(owed);
        this.events.message(packet.topic, payload).then(() => {
          owed.ready = true;
          this.acknowledge(socket);
        }, () => {
          // Never acknowledged: the broker sends it again in the next session.
          this.drop(socket, 'a message could not be stored');
        });
        return;
      }
      case 'pingresp':
        return;
      default:
        return;
    }
  }

  /** PUBACKs owed, in the order the messages came, up to the first not yet stored. */
  private acknowledge(socket: Socket): void {
    if (socket !== this.socket) return; // a message of a session since dropped: the broker sends it again
    let n = 0;
    while (n < this.owed.length && this.owed[n]!.ready) {
      this.write(socket, { cmd: 'puback', messageId: this.owed[n]!.id });
      n++;
    }
    if (n > 0) this.owed = this.owed.slice(n);
  }

  private write(socket: Socket, packet: mqttPacket.Packet): void {
    if (!socket.destroyed) socket.write(mqttPacket.generate(packet));
  }

  /** Ends the connection and schedules the next, with exponential backoff and jitter. */
  private drop(socket: Socket, why: string): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    clearTimeout(this.connectTimer);
    clearInterval(this.pingTimer);
    socket.destroy();
    this.events.disconnected(why);
    if (this.closed) return;
    this.attempts++;
    const wait = Math.min(MAX_RECONNECT_MS, FIRST_RECONNECT_MS * 2 ** Math.min(this.attempts - 1, 5)) * (0.75 + Math.random() / 2);
    this.retryTimer = setTimeout(() => this.open(), wait);
  }

  /** Disconnects; messages not yet stored stay unacknowledged, so the broker keeps them. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const socket = this.socket;
    if (!socket) return;
    this.write(socket, { cmd: 'disconnect' });
    await new Promise<void>((resolve) => socket.end(() => resolve()));
    this.drop(socket, 'closed');
  }
}
