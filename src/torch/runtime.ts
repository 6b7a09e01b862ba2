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

/** Sets libtorch's intra-op thread count. */
export function setNumThreads(n: number): void {
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
