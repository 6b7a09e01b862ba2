/**
 * Automatic mixed precision: inside `autocast`, libtorch runs matmul-like operators in a lower
 * precision (bfloat16 by default) and keeps precision-sensitive ones in float32, per device type.
 */
import { type DType, dtypeCode } from './dtype.js';
import { type Device, deviceType } from './device.js';
import { native } from './native.js';

/** Runs `fn` with autocast on for `device`'s type. `fn` must be synchronous. */
export function autocast<T>(fn: () => T, { device = 'cpu', dtype = 'bfloat16' }: { device?: Device; dtype?: DType } = {}): T {
  const type = deviceType(device);
  const [wasEnabled, previousDtype] = native.autocastEnter(type, dtypeCode(dtype));
  try {
    return fn();
  } finally {
    native.autocastExit(type, wasEnabled, previousDtype);
  }
}

/** Whether autocast is active for the device type of `device`. */
export function isAutocastEnabled(device: Device = 'cpu'): boolean {
  return native.isAutocastEnabled(deviceType(device));
}
