// Pure rules for building and changing device records, shared by every registry adapter.
import { randomBytes } from 'node:crypto';
import { DEFAULT_TENANT, NEVER, validateDeviceId, validateSymmetricKey, validateTenant, type Device, type DeviceInput } from '../core/device.js';
import { OmniError } from '../core/errors.js';
import { generateKey } from '../auth/sas.js';

/** IoT Hub's generation ids look like .NET tick counts; random low digits keep re-creations distinct. */
function newGenerationId(now: Date): string {
  const ticks = BigInt(now.getTime()) * 10_000n + 621_355_968_000_000_000n + BigInt(randomBytes(2).readUInt16BE(0));
  return ticks.toString();
}

function etagFor(version: number): string {
  return Buffer.from(String(version)).toString('base64');
}

function keysFrom(input: DeviceInput, fallback?: Device): { primaryKey: string; secondaryKey: string } {
  const given = input.symmetricKey ?? {};
  const pick = (key: string | undefined, old: string | undefined, which: string): string =>
    key ? validateSymmetricKey(key, which) : (old ?? generateKey());
  return {
    primaryKey: pick(given.primaryKey, fallback?.authentication.symmetricKey.primaryKey, 'primaryKey'),
    secondaryKey: pick(given.secondaryKey, fallback?.authentication.symmetricKey.secondaryKey, 'secondaryKey'),
  };
}

function checkStatus(status: unknown): Device['status'] | undefined {
  if (status === undefined) return undefined;
  if (status !== 'enabled' && status !== 'disabled') throw new OmniError('invalid_argument', `status must be 'enabled' or 'disabled', got ${JSON.stringify(status)}`);
  return status;
}

export function newDevice(input: DeviceInput, now: Date, version: number): Device {
  const deviceId = validateDeviceId(input.deviceId);
  const time = now.toISOString();
  return {
    deviceId,
    generationId: newGenerationId(now),
    etag: etagFor(version),
    status: checkStatus(input.status) ?? 'enabled',
    statusReason: input.statusReason ?? null,
    statusUpdatedTime: time,
    connectionState: 'Disconnected',
    connectionStateUpdatedTime: NEVER,
    lastActivityTime: NEVER,
    cloudToDeviceMessageCount: 0,
    authentication: { type: 'sas', symmetricKey: keysFrom(input), x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: null } },
    capabilities: { iotEdge: false },
    tenant: input.tenant === undefined ? DEFAULT_TENANT : validateTenant(input.tenant),
    kind: input.kind ?? null,
  };
}

/** Applies an update; the generation id never changes, the etag always does. */
export function updatedDevice(old: Device, input: DeviceInput, now: Date, version: number): Device {
  const status = checkStatus(input.status) ?? old.status;
  return {
    ...old,
    etag: etagFor(version),
    status,
    statusReason: input.statusReason === undefined ? old.statusReason : input.statusReason,
    statusUpdatedTime: status === old.status ? old.statusUpdatedTime : now.toISOString(),
    authentication: { ...old.authentication, symmetricKey: keysFrom(input, old) },
    tenant: input.tenant === undefined ? old.tenant : validateTenant(input.tenant),
    kind: input.kind === undefined ? old.kind : input.kind,
  };
}

/** `*` matches any existing device; otherwise the (possibly quoted) etag must match. */
export function checkIfMatch(device: Device, ifMatch: string): void {
  const tag = ifMatch.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
  if (tag !== '*' && tag !== device.etag) {
    throw new OmniError('precondition_failed', `The etag ${JSON.stringify(ifMatch)} does not match device '${device.deviceId}' (current ${device.etag})`);
  }
}

export function deviceNotFound(deviceId: string): OmniError {
  return new OmniError('device_not_found', `Device '${deviceId}' is not registered.`);
}
