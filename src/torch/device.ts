/** Devices: 'cpu', 'cuda' or 'cuda:N'. */

/** A device name as libtorch spells it. */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

/** Validates a device name; TypeError for anything else. */
export function checkDevice(device: string): Device {
  if (device === 'cpu' || device === 'cuda' || /^cuda:\d+$/.test(device)) return device as Device;
  throw new TypeError(`invalid device '${device}' (expected 'cpu', 'cuda' or 'cuda:N')`);
}

/** The device type ('cpu' or 'cuda') of a device name. */
export function deviceType(device: Device): 'cpu' | 'cuda' {
  return device.startsWith('cuda') ? 'cuda' : 'cpu';
}
