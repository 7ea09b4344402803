// The MQTT endpoint: IoT Hub's device-facing MQTT 3.1.1 on a plain port and/or a TLS port, our own
// small server on node:net / node:tls and mqtt-packet. Devices publish telemetry; nothing is routed
// between clients. Every message goes through `Ingestion.ingest`, as HTTP's do.
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureContextOptions, type Server as TlsServer } from 'node:tls';
import type { DeviceCaller } from '../../auth/authenticator.js';
import type { IncomingMessage } from '../../core/message.js';
import type { Logger } from '../../telemetry/logger.js';
import type { Metrics } from '../../telemetry/metrics.js';
import type { Transport } from '../ingestion.js';
import { MqttConnection, type CloseReason, type ConnectionHost } from './mqtt-connection.js';
import { connack, CONNECT } from './mqtt-packets.js';

export interface MqttEndpointOptions {
  /** The hub host name the username must carry (case-insensitive). */
  readonly hostName: string;
  /** Appends in flight per connection before it stops reading (`mqtt.maxInflight`). */
  readonly maxInflight: number;
  /** Appends in flight over all connections; past it a publish is refused (`mqtt.maxInflightTotal`). */
  readonly maxInflightTotal?: number;
  /** Connections open at once; past it a CONNECT gets CONNACK 3 (`mqtt.maxConnections`). */
  readonly maxConnections?: number;
  /** A connection that sends no CONNECT within this is closed. */
  readonly connectTimeoutMs?: number;
  /** How often each session's credential is checked again (token expiry, a disabled device). */
  readonly revalidateMs?: number;
  readonly authorize: (password: string | undefined, deviceId: string) => Promise<DeviceCaller>;
  readonly ingest: (caller: DeviceCaller, messages: readonly IncomingMessage[], transport: Transport) => Promise<unknown>;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

const CONNECT_TIMEOUT_MS = 10_000;
const REVALIDATE_MS = 5_000;
/** At shutdown, how long appends in flight may take before their connections are closed anyway. */
const SHUTDOWN_GRACE_MS = 5_000;

export type MqttListener = 'mqtt' | 'mqtts';

export class MqttEndpoint {
  private readonly servers: Array<{ readonly listener: MqttListener; readonly server: Server }> = [];
  private readonly connections = new Set<MqttConnection>();
  /** One session per device: the newest connection that authenticated as it. */
  private readonly sessions = new Map<string, MqttConnection>();
  private readonly open = { mqtt: 0, mqtts: 0 };
  private readonly closes;
  private readonly host: ConnectionHost;
  private inflightTotal = 0;
  private readonly revalidateTimer: NodeJS.Timeout;
  private closing = false;

  constructor(private readonly options: MqttEndpointOptions) {
    const { metrics } = options;
    const connections = metrics.gauge('omnistream_mqtt_connections', 'Open MQTT connections, by listener');
    connections.track({ listener: 'mqtt' }, () => this.open.mqtt);
    connections.track({ listener: 'mqtts' }, () => this.open.mqtts);
    metrics.gauge('omnistream_mqtt_sessions', 'Devices connected over MQTT (authenticated connections)').track({}, () => this.sessions.size);
    metrics.gauge('omnistream_mqtt_inflight_messages', 'MQTT messages waiting for their append').track({}, () => this.inflightTotal);
    this.closes = metrics.counter('omnistream_mqtt_disconnects_total', 'MQTT connections ended, by reason (an error code, or client_disconnect, connection_lost, keepalive_timeout, connect_timeout, session_taken_over, connection_limit)');
    const maxInflightTotal = options.maxInflightTotal ?? Infinity;
    this.host = {
      hostName: options.hostName,
      maxInflight: options.maxInflight,
      connectTimeoutMs: options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
      logger: options.logger,
      authorize: options.authorize,
      ingest: options.ingest,
      takeInflight: () => {
        if (this.inflightTotal >= maxInflightTotal) return false;
        this.inflightTotal++;
        return true;
      },
      releaseInflight: () => {
        this.inflightTotal--;
      },
      claim: (connection) => {
        const older = this.sessions.get(connection.deviceId!);
        this.sessions.set(connection.deviceId!, connection);
        // IoT Hub keeps one connection per device: the new one wins (ConnectionForcefullyClosedOnNewConnection).
        if (older && older !== connection) older.close('session_taken_over');
      },
      ended: (connection, reason) => {
        this.connections.delete(connection);
        this.open[connection.listener as MqttListener]--;
        if (connection.deviceId !== undefined && this.sessions.get(connection.deviceId) === connection) this.sessions.delete(connection.deviceId);
        this.closes.inc({ reason });
      },
    };
    this.revalidateTimer = setInterval(() => {
      for (const c of this.sessions.values()) void c.revalidate();
    }, options.revalidateMs ?? REVALIDATE_MS);
    this.revalidateTimer.unref();
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  private accept(listener: MqttListener, socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.connections.size >= (this.options.maxConnections ?? Infinity)) {
      this.turnAway(socket);
      return;
    }
    this.open[listener]++;
    this.connections.add(new MqttConnection(socket, listener, this.host));
  }

  /**
   * Past `maxConnections`: a CONNECT is answered CONNACK 3 (server unavailable: SDKs retry later)
   * without being decoded or authenticated, and the connection closes. The answer waits for the
   * client's first bytes, as MQTT answers a CONNECT; a client that sends none is dropped at the
   * connect timeout, as any other is.
   */
  private turnAway(socket: Socket): void {
    this.closes.inc({ reason: 'connection_limit' satisfies CloseReason });
    const timer = setTimeout(() => socket.destroy(), this.host.connectTimeoutMs);
    socket.on('error', () => socket.destroy());
    socket.once('close', () => clearTimeout(timer));
    socket.once('data', (chunk: Buffer) => {
      if (chunk[0] === CONNECT << 4) socket.end(connack(3));
      else socket.destroy();
    });
  }

  /** Listens on one more port: plain MQTT, or MQTT over TLS with `tls`. */
  listen(port: number, host: string, tls?: SecureContextOptions): Promise<AddressInfo> {
    const listener: MqttListener = tls ? 'mqtts' : 'mqtt';
    const server: Server = tls
      // A client that opens a connection and never completes the handshake is dropped like one that never sends CONNECT.
      ? createTlsServer({ ...tls, handshakeTimeout: this.host.connectTimeoutMs }, (socket) => this.accept(listener, socket))
      : createNetServer({ noDelay: true }, (socket) => this.accept(listener, socket));
    // A failed handshake (a client that does not trust the certificate, TLS 1.1) concerns that client only.
    if (tls) server.on('tlsClientError', (err) => this.options.logger.debug('MQTT TLS handshake failed', { err }));
    const max = this.options.maxConnections;
    if (tls && max !== undefined) {
      // A handshake costs the server more CPU than anything a refused client sends after it: past the
      // limit a TLS listener closes the TCP connection before one (the client sees a network error and
      // retries, as after CONNACK 3). Counted per listener, so together with plain MQTT the limit in
      // accept() still answers CONNACK 3 over TLS.
      server.maxConnections = max;
      server.on('drop', () => this.closes.inc({ reason: 'connection_limit' satisfies CloseReason }));
    }
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        server.on('error', (err) => this.options.logger.error('MQTT listener failed', { listener, err }));
        this.servers.push({ listener, server });
        resolve(server.address() as AddressInfo);
      });
    });
  }

  /** New credentials for the TLS listener (a renewed certificate); open connections keep theirs. */
  setSecureContext(tls: SecureContextOptions): void {
    for (const { listener, server } of this.servers) if (listener === 'mqtts') (server as TlsServer).setSecureContext(tls);
  }

  /** Stops accepting connections, lets each finish its appends and send their PUBACKs, then closes them. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.revalidateTimer);
    const stopped = Promise.all(this.servers.map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve()))));
    await Promise.all([...this.connections].map((c) => c.shutdown(SHUTDOWN_GRACE_MS)));
    await stopped;
  }
}

export type { CloseReason };
