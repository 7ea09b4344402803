// What authentication needs of the device registry. The port is auth's own, so auth/ imports no
// feature; the registry (any adapter, cached or not) satisfies it as it is.
import type { Device } from '../core/device.js';

export interface DeviceLookup {
  get(deviceId: string): Promise<Device | undefined>;
  /**
   * The device when it is known without a storage round trip, `null` when it is known not to
   * exist, `undefined` when not known. Optional: it lets a device's repeated requests be
   * authorized synchronously.
   */
  cached?(deviceId: string): Device | null | undefined;
}
