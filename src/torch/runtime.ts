/** Process-wide runtime facts and controls: threads, CUDA devices, live tensor count. */
import { type BuildInfo, native } from './native.js';

/** Version and capabilities of the libtorch in use. */
export function buildInfo(): BuildInfo {
  return native.buildInfo();
}

/** True when libtorch sees at least one CUDA device. */
export function cudaAvailable(): boolean {
  return native.buildInfo().cudaAvailable;
}

/** Number of CUDA devices libtorch sees. */
export function cudaDeviceCount(): number {
  return native.buildInfo().cudaDeviceCount;
}

/** Largest thread count setNumThreads accepts. */
export const MAX_THREADS = 1024;

/** Sets libtorch's intra-op thread count: an integer from 1 to {@link MAX_THREADS}. */
export function setNumThreads(n: number): void {
  if (typeof n !== 'number' || !Number.isInteger(n))
    throw new TypeError(`setNumThreads: expected an integer thread count, got ${String(n)}`);
  if (n < 1 || n > MAX_THREADS) throw new RangeError(`setNumThreads: thread count must be at least 1 and at most ${MAX_THREADS}, got ${n}`);
  native.setNumThreads(n);
}

/** libtorch's intra-op thread count. */
export function getNumThreads(): number {
  return native.getNumThreads();
}

/** Number of tensor handles alive (not disposed, not collected) — for leak checks. */
export function liveTensors(): number {
  return native.liveTensors();
}
