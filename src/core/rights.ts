// Shared access policies and rights, under IoT Hub's names.

export const RIGHTS = ['RegistryRead', 'RegistryWrite', 'ServiceConnect', 'DeviceConnect'] as const;
export type Right = (typeof RIGHTS)[number];

/** IoT Hub's default policies and what each may do. */
export const DEFAULT_POLICIES: Readonly<Record<string, readonly Right[]>> = {
  iothubowner: ['RegistryRead', 'RegistryWrite', 'ServiceConnect', 'DeviceConnect'],
  service: ['ServiceConnect'],
  device: ['DeviceConnect'],
  registryRead: ['RegistryRead'],
  registryReadWrite: ['RegistryRead', 'RegistryWrite'],
};

export function isRight(value: string): value is Right {
  return (RIGHTS as readonly string[]).includes(value);
}
