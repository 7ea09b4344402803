// Clients for the MQTT tests: the `mqtt` package as a device would use it, and a raw socket for
// bytes no well-behaved client sends.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { connect, type Socket } from 'node:net';
import type { Device } from '../../src/core/device.js';
import type { TestServer } from '../helpers/server.js';

export const API = 'api-version=2021-04-12';

export function usernameOf(deviceId: string, host = 'localhost'): string {
  return `${host}/${deviceId}/?${API}&DeviceClientType=omnistream-tests`;
}

export function eventsTopic(deviceId: string, bag = ''): string {
  return `devices/${deviceId}/messages/events/${bag}`;
}

/** Connects as `device` with its own token over the plain MQTT port; options override any field. */
export function connectDevice(s: TestServer, device: Device, options: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${s.mqttPort}`, {
    clientId: device.deviceId, username: usernameOf(device.deviceId), password: s.deviceToken(device),
    protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000, clean: true, ...options,
  });
}

/** The CONNACK return code a refused connection got (mqtt.js rejects with it as `code`). */
export async function refusal(connecting: Promise<MqttClient>): Promise<number | string> {
  try {
    const c = await connecting;
    await c.endAsync();
    return 'accepted';
  } catch (err) {
    return (err as { code?: number }).code ?? (err as Error).message;
  }
}

/** Resolves when the server closes the client's connection. */
export function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    if (!client.connected) resolve();
    client.once('close', () => resolve());
  });
}

/** A socket speaking bytes: `packets` collects what the server sends, `ended` resolves at close. */
export interface RawClient {
  readonly socket: Socket;
  readonly packets: mqttPacket.Packet[];
  readonly ended: Promise<void>;
  send(bytes: Buffer | mqttPacket.Packet): void;
  /** The next packet the server sends (or undefined if it closes first). */
  next(): Promise<mqttPacket.Packet | undefined>;
}

export async function rawClient(port: number): Promise<RawClient> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: mqttPacket.Packet[] = [];
  const unread: mqttPacket.Packet[] = [];
  const waiters: Array<(p: mqttPacket.Packet | undefined) => void> = [];
  parser.on('packet', (p: mqttPacket.Packet) => {
    packets.push(p);
    const waiter = waiters.shift();
    if (waiter) waiter(p);
    else unread.push(p);
  });
  socket.on('data', (d: Buffer) => parser.parse(d));
  socket.on('error', () => undefined);
  const ended = new Promise<void>((resolve) => socket.once('close', () => {
    for (const w of waiters.splice(0)) w(undefined);
    resolve();
  }));
  return {
    socket, packets, ended,
    send(bytes) {
      socket.write(Buffer.isBuffer(bytes) ? bytes : mqttPacket.generate(bytes));
    },
    next() {
      if (unread.length > 0) return Promise.resolve(unread.shift());
      if (socket.destroyed) return Promise.resolve(undefined);
      return new Promise((resolve) => waiters.push(resolve));
    },
  };
}

/** A raw client that connected as `device` and got CONNACK 0. */
export async function rawDevice(s: TestServer, device: Device): Promise<RawClient> {
  const raw = await rawClient(s.mqttPort!);
  raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: device.deviceId, username: usernameOf(device.deviceId), password: Buffer.from(s.deviceToken(device)) });
  const connack = await raw.next();
  if (connack?.cmd !== 'connack' || (connack as mqttPacket.IConnackPacket).returnCode !== 0) throw new Error(`not connected: ${JSON.stringify(connack)}`);
  return raw;
}
