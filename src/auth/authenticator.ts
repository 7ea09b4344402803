// Decides who a request is from and whether it may do what it asks (ARCHITECTURE §4).
import type { Device } from '../core/device.js';
import { OmniError } from '../core/errors.js';
import type { AuthMethod } from '../core/message.js';
import type { Right } from '../core/rights.js';
import type { DeviceLookup } from './device-lookup.js';
import type { KeyStore, Policy } from './key-store.js';
import { CLOCK_SKEW_SECONDS, deviceResource, isExpired, parseSasToken, scopeCovers, signatureMatches, type SasToken } from './sas.js';

const DEVICE_SCOPE: AuthMethod = { scope: 'device', type: 'sas', issuer: 'iothub' };

/** A caller allowed to read dashboards and outputs; `tenant` bounds what it sees (null: every tenant). */
export interface Viewer {
  readonly tenant: string | null;
  readonly by: 'viewer-key' | 'policy';
}

/** A caller allowed to send as one device. */
export interface DeviceCaller {
  readonly device: Device;
  readonly authMethod: AuthMethod;
}

/** A device token already verified: the key it was signed with, so a key rotation invalidates it. */
interface VerifiedToken {
  readonly deviceId: string;
  readonly key: string;
  readonly expiry: number;
  /** The last answer, reused while the registry hands back the same device record. */
  caller?: DeviceCaller;
}

const MAX_VERIFIED_TOKENS = 50_000;

export class Authenticator {
  /**
   * Devices send many messages with one token (an hour's lifetime is usual), so a verified token
   * skips the HMAC next time. Only tokens that verified are cached, so callers cannot fill it.
   */
  private readonly verified = new Map<string, VerifiedToken>();
  /** Policy tokens likewise (a service reader sends one with every request): the policy and the key that signed it. */
  private readonly verifiedPolicies = new Map<string, { readonly name: string; readonly key: string; readonly expiry: number }>();

  constructor(
    private readonly hostName: string,
    private readonly keys: KeyStore,
    private readonly devices: DeviceLookup,
    private readonly now: () => number = Date.now,
  ) {}

  private parse(authorization: string | undefined): SasToken {
    const token = parseSasToken(authorization);
    if (isExpired(token, this.now())) throw new OmniError('token_expired', `The specified SAS token expired at ${new Date(token.expiry * 1000).toISOString()}`);
    return token;
  }

  private checkScope(token: SasToken, target: string): void {
    if (!scopeCovers(token.resource, target)) {
      const host = token.resource.split('/')[0]!;
      throw new OmniError('unauthorized', host.toLowerCase() !== this.hostName.toLowerCase()
        ? `The token is for hub '${host}', not '${this.hostName}'`
        : `The token's scope '${token.resource}' does not cover '${target}'`);
    }
  }

  private policyFor(token: SasToken, right: Right): Policy {
    const policy = this.keys.policy(token.keyName!);
    if (!policy || !signatureMatches(token, [policy.primaryKey, policy.secondaryKey])) {
      throw new OmniError('unauthorized', 'The specified SAS token has an invalid signature. It does not match either the primary or secondary key.');
    }
    return this.withRight(policy, right);
  }

  /**
   * `device` without waiting, for the common case: a token this process verified before, of a
   * device the registry has cached. Undefined when that is not the case (then call `device`).
   */
  knownDevice(authorization: string | undefined, deviceId: string): DeviceCaller | undefined {
    const known = this.knownToken(authorization, deviceId);
    const device = known && this.devices.cached?.(deviceId);
    return device ? this.knownCaller(known!, device) : undefined;
  }

  private knownToken(authorization: string | undefined, deviceId: string): VerifiedToken | undefined {
    const known = authorization === undefined ? undefined : this.verified.get(authorization);
    return known && known.deviceId === deviceId && known.expiry + CLOCK_SKEW_SECONDS >= this.now() / 1000 ? known : undefined;
  }

  /** The caller for a verified token, unless the device no longer has the key that signed it. */
  private knownCaller(known: VerifiedToken, device: Device): DeviceCaller | undefined {
    // Device records are immutable (an update makes a new one), and this one passed the checks below.
    if (known.caller?.device === device) return known.caller;
    const keys = device.authentication.symmetricKey;
    if (keys.primaryKey !== known.key && keys.secondaryKey !== known.key) return undefined;
    return (known.caller = { device: this.enabled(device), authMethod: DEVICE_SCOPE });
  }

  /** Authorizes sending as `deviceId`: the device's own token, or a policy token with DeviceConnect. */
  async device(authorization: string | undefined, deviceId: string): Promise<DeviceCaller> {
    const known = this.knownToken(authorization, deviceId);
    if (known) {
      const device = await this.devices.get(deviceId);
      const caller = device && this.knownCaller(known, device);
      if (caller) return caller;
    }
    const token = this.parse(authorization);
    const target = deviceResource(this.hostName, deviceId);
    this.checkScope(token, target);
    if (token.keyName !== undefined) {
      const policy = this.policyFor(token, 'DeviceConnect');
      const device = await this.devices.get(deviceId);
      if (!device) throw new OmniError('device_not_found', `IotHub '${this.hostName}' does not contain the specified device '${deviceId}'`);
      return { device: this.enabled(device), authMethod: { scope: 'hub', type: 'sas', issuer: 'iothub', policy: policy.name } };
    }
    const device = await this.devices.get(deviceId);
    const { primaryKey, secondaryKey } = device?.authentication.symmetricKey ?? { primaryKey: '', secondaryKey: '' };
    // An unknown device and a wrong key answer alike, so ids cannot be probed.
    const key = !device ? undefined : signatureMatches(token, [primaryKey]) ? primaryKey : signatureMatches(token, [secondaryKey]) ? secondaryKey : undefined;
    if (!device || key === undefined) {
      throw new OmniError('unauthorized', 'The specified SAS token has an invalid signature. It does not match either the primary or secondary key.');
    }
    this.enabled(device);
    if (this.verified.size >= MAX_VERIFIED_TOKENS) this.verified.clear();
    this.verified.set(authorization!, { deviceId, key, expiry: token.expiry });
    return { device, authMethod: DEVICE_SCOPE };
  }

  private enabled(device: Device): Device {
    if (device.status !== 'enabled') throw new OmniError('device_disabled', `Device '${device.deviceId}' is disabled and cannot send`);
    return device;
  }

  /** Authorizes a service or registry call: a policy token scoped to this hub holding `right`. */
  service(authorization: string | undefined, right: Right): Policy {
    const known = authorization === undefined ? undefined : this.verifiedPolicies.get(authorization);
    if (known && known.expiry + CLOCK_SKEW_SECONDS >= this.now() / 1000) {
      // Keys can be rotated or the policy removed (keys.json is reloaded): the answer must still hold.
      const policy = this.keys.policy(known.name);
      if (policy && (policy.primaryKey === known.key || policy.secondaryKey === known.key)) return this.withRight(policy, right);
    }
    const token = this.parse(authorization);
    this.checkScope(token, this.hostName);
    if (token.keyName === undefined) throw new OmniError('forbidden', `A device token cannot be used for ${right}; use a shared access policy`);
    const policy = this.policyFor(token, right);
    if (this.verifiedPolicies.size >= MAX_VERIFIED_TOKENS) this.verifiedPolicies.clear();
    this.verifiedPolicies.set(authorization!, { name: policy.name, key: signatureMatches(token, [policy.primaryKey]) ? policy.primaryKey : policy.secondaryKey, expiry: token.expiry });
    return policy;
  }

  /**
   * Authorizes reading dashboards and outputs: a viewer key (`key`, from the page's URL, since an
   * EventSource cannot send headers) or a policy token with ServiceConnect. A viewer bound to a
   * tenant sees only that tenant's rows; `tenant` is null for everyone else.
   */
  viewer(authorization: string | undefined, key: string | null): Viewer {
    if (key !== null && key !== '') {
      const found = this.keys.viewerKey(key);
      if (!found) throw new OmniError('invalid_viewer_key', 'This viewer key is unknown or was revoked: ask for a new one (omnistream keys add-viewer --tenant NAME)');
      return { tenant: found.tenant, by: 'viewer-key' };
    }
    if (authorization === undefined) throw new OmniError('unauthorized', 'A viewer key (?key=vk_…) or a policy token with ServiceConnect is needed: omnistream keys prints the dashboard links with their keys');
    this.service(authorization, 'ServiceConnect');
    return { tenant: null, by: 'policy' };
  }

  private withRight(policy: Policy, right: Right): Policy {
    if (!policy.rights.includes(right)) throw new OmniError('forbidden', `Authorization rule '${policy.name}' does not allow ${right}`);
    return policy;
  }
}
