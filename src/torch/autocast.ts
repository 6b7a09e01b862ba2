/**
 * Automatic mixed precision: inside `autocast`, libtorch runs matmul-like operators in a lower
 * precision (bfloat16 by default) and keeps precision-sensitive ones in float32, per device type.
 */
import { type DType, dtypeCode } from './dtype.js';
import { type Device, deviceType } from './device.js';
import { native } from './native.js';

/** Whether the running libtorch is at least version major.minor. */
function libtorchAtLeast(major: number, minor: number): boolean {
  const [ma = 0, mi = 0] = native
    .buildInfo()
    .libtorch.split('.')
    .map((p) => Number.parseInt(p, 10));
  return ma > major || (ma === major && mi >= minor);
}

/**
 * The lower-precision dtypes autocast supports on a device type: CUDA float16 and bfloat16; CPU
 * bfloat16, and float16 from libtorch 2.2 (earlier CPU autocast rejects it only once an operator runs).
 */
export function autocastDtypes(device: Device = 'cpu'): DType[] {
  return deviceType(device) === 'cuda' || libtorchAtLeast(2, 2) ? ['bfloat16', 'float16'] : ['bfloat16'];
}

/**
 * Runs `fn` with autocast on for `device`'s type. `fn` must be synchronous. An unsupported `dtype`
 * (see {@link autocastDtypes}) is a TypeError before `fn` runs.
 */
export function autocast<T>(fn: () => T, { device = 'cpu', dtype = 'bfloat16' }: { device?: Device; dtype?: DType } = {}): T {
  const type = deviceType(device);
  const supported = autocastDtypes(device);
  if (!supported.includes(dtype)) {
    throw new TypeError(
      `autocast: dtype ${String(dtype)} is not supported on ${type} with libtorch ${native.buildInfo().libtorch} (supported: ${supported.join(', ')})`,
    );
  }
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
