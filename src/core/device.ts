// A device identity as the IoT Hub registry describes it, plus the tenant it belongs to.
import { OmniError } from './errors.js';

export type DeviceStatus = 'enabled' | 'disabled';

export interface SymmetricKeys {
  readonly primaryKey: string;
  readonly secondaryKey: string;
}

export interface Device {
  readonly deviceId: string;
  /** Distinguishes a device from an earlier one deleted and re-created under the same id. */
  readonly generationId: string;
  /** Weak entity tag; changes on every update. */
  readonly etag: string;
  readonly status: DeviceStatus;
  readonly statusReason: string | null;
  readonly statusUpdatedTime: string;
  readonly connectionState: 'Connected' | 'Disconnected';
  readonly connectionStateUpdatedTime: string;
  readonly lastActivityTime: string;
  readonly cloudToDeviceMessageCount: number;
  readonly authentication: {
    readonly type: 'sas';
    readonly symmetricKey: SymmetricKeys;
    readonly x509Thumbprint: { readonly primaryThumbprint: null; readonly secondaryThumbprint: null };
  };
  readonly capabilities: { readonly iotEdge: boolean };
  /** The retail brand whose shoppers or stores use the device (`default` when unset). */
  readonly tenant: string;
  /** What registered it: browser, ios, android, sensor… (free text, for operators). */
  readonly kind: string | null;
}

/** What a caller may set when creating or updating a device. */
export interface DeviceInput {
  readonly deviceId: string;
  readonly status?: DeviceStatus;
  readonly statusReason?: string | null;
  readonly symmetricKey?: Partial<SymmetricKeys>;
  readonly tenant?: string;
  readonly kind?: string | null;
}

/** IoT Hub's "never" timestamp for times that have not happened yet. */
export const NEVER = '0001-01-01T00:00:00';

export const DEFAULT_TENANT = 'default';

const DEVICE_ID = /^[A-Za-z0-9\-.%_*?!(),:=@$']{1,128}$/;

/** IoT Hub's rule: up to 128 ASCII letters, digits and `- . % _ * ? ! ( ) , : = @ $ '`. */
export function validateDeviceId(id: unknown): string {
  if (typeof id !== 'string' || !DEVICE_ID.test(id)) {
    throw new OmniError(
      'invalid_device_id',
      `Invalid device id ${JSON.stringify(id)}: use 1 to 128 ASCII letters, digits and - . % _ * ? ! ( ) , : = @ $ '`,
    );
  }
  return id;
}

const TENANT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function validateTenant(tenant: unknown): string {
  if (typeof tenant !== 'string' || !TENANT.test(tenant)) {
    throw new OmniError('invalid_argument', `Invalid tenant ${JSON.stringify(tenant)}: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  return tenant;
}

/** A symmetric key must be base64 of 16 to 64 bytes, as IoT Hub requires. */
export function validateSymmetricKey(key: string, which: string): string {
  const bytes = Buffer.from(key, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key) || bytes.length < 16 || bytes.length > 64) {
    throw new OmniError('invalid_argument', `${which} must be base64 of 16 to 64 bytes`);
  }
  return key;
}
