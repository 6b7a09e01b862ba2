/** Devices: 'cpu', 'cuda' or 'cuda:N'. */
import { native } from './native.js';

/** A device name as libtorch spells it. */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

let cudaDevices: number | undefined;

/**
 * Validates a device name: TypeError for a malformed name, Error when CUDA is not available,
 * RangeError for a CUDA index this machine does not have.
 */
export function checkDevice(device: string): Device {
  if (device === 'cpu') return device;
  if (device === 'cuda' || /^cuda:\d+$/.test(device)) {
    cudaDevices ??= native.buildInfo().cudaDeviceCount;
    if (cudaDevices === 0) {
      throw new Error(`device '${device}': CUDA is not available (libtorch ${native.buildInfo().libtorch} sees no CUDA device)`);
    }
    const index = device === 'cuda' ? 0 : Number(device.slice(5));
    if (index >= cudaDevices) throw new RangeError(`device '${device}': only ${cudaDevices} CUDA device(s) are available`);
    return device as Device;
  }
  throw new TypeError(`invalid device '${device}' (expected 'cpu', 'cuda' or 'cuda:N')`);
}

/** The device type ('cpu' or 'cuda') of a device name. */
export function deviceType(device: Device): 'cpu' | 'cuda' {
  return device.startsWith('cuda') ? 'cuda' : 'cpu';
}
