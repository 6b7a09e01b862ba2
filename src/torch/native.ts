/**
 * The compiled libtorch addon (native/build/Release/regts.node) and the shape of what it exports.
 * Everything in src/torch goes through this module; nothing else loads the addon.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadWithThreadTuning } from './cpu-threads.js';

/**
 * Reference to a native tensor: a number naming a slot of the addon's handle table and that slot's
 * generation (see native/src/common.h). An id stays "disposed" forever once released, even when
 * its slot is reused; numbers that were never handed out are rejected as "expected a tensor".
 * Nothing is allocated natively per handle: a handle that is never disposed is released by the
 * FinalizationRegistry of the Tensor wrapping it (tensor.ts).
 */
export type Handle = number & { readonly __nativeTensor: unique symbol };
/** Opaque reference to a native random generator. */
export type GeneratorHandle = { readonly __nativeGenerator: unique symbol };
/** Opaque reference to a memory-mapped file. */
export type MappingHandle = { readonly __nativeMapping: unique symbol };

/** Opaque reference to a c10d process group (native/src/distributed.cc). */
export type GroupHandle = { readonly __nativeGroup: unique symbol };
/** Opaque reference to a c10d work handle (one collective in flight). */
export type WorkHandle = { readonly __nativeWork: unique symbol };

/** What native/src/distributed.cc needs to create a process group. */
export interface NativeGroupOptions {
  host: string;
  port: number;
  rank: number;
  worldSize: number;
  /** This process hosts the TCPStore (and waits for all ranks to join it). */
  isServer: boolean;
  /** Prefix of every store key (torchrun's agent store: /worker/attempt_N). */
  prefix: string;
  /** Address Gloo binds to (empty: the interface, else the host name's address). */
  glooHost: string;
  /** Network interface Gloo binds to (GLOO_SOCKET_IFNAME). */
  glooInterface: string;
  /** Also create an NCCL group for CUDA tensors. */
  nccl: boolean;
  timeoutMs: number;
}

/** Facts about the libtorch the addon runs with. */
export interface BuildInfo {
  libtorch: string;
  cudaAvailable: boolean;
  cudaDeviceCount: number;
  mkl: boolean;
  openmp: boolean;
  mkldnn: boolean;
  parallelInfo: string;
  /**
   * Whether the addon itself was compiled with libtorch's OpenMP runtime (native/find-libtorch.mjs
   * `--openmp`: Debian's libtorch yes, pip wheels no), so that its own parallel loops, such as
   * `F.batchedMatmul`'s, run on the intra-op threads.
   */
  addonOpenmp: boolean;
}

/** What native/src/blas.cc finds about the BLAS library behind libtorch's CPU matrix products. */
export interface NativeBlasInfo {
  /** Real path of the shared object defining `sgemm_` ('' when none exports it). */
  library: string;
  symbolFound: boolean;
  vendor: 'openblas' | 'mkl' | 'blis' | 'unknown';
  corename?: string;
  config?: string;
  threads?: number;
  version?: string;
  /** Every mapped object whose path mentions a BLAS (blas, mkl, blis). */
  loaded: string[];
}

/** Functions exported by the addon; see native/src for their contracts. */
export interface NativeAddon {
  findOp(name: string, overload: string): number;
  opSchema(id: number): string;
  /** How call() reaches the operator: unboxed for the common tensor/Scalar patterns ("TTS": add.Tensor), else "boxed". */
  opCallForm(id: number): string;
  call(id: number, ...args: unknown[]): unknown;
  fromBytes(bytes: ArrayBufferView | ArrayBuffer, dtype: number, shape: readonly number[]): Handle;
  toBytes(t: Handle): ArrayBuffer;
  meta(t: Handle): [number, string, ...number[]];
  strides(t: Handle): number[];
  dispose(t: Handle): boolean;
  isDisposed(t: Handle): boolean;
  /** Reports a handle's native memory to V8 (so that GC keeps up with tensors left to it) until it is released. */
  trackForGc(t: Handle): void;
  /** Live handles of this thread's environment (neither disposed nor finalized). */
  liveTensors(): number;
  mmapFile(path: string): MappingHandle;
  tensorFromMapping(m: MappingHandle, byteOffset: number, dtype: number, shape: readonly number[]): Handle;
  backward(t: Handle, grad: Handle | null, retainGraph: boolean): void;
  grad(t: Handle): Handle | null;
  setGrad(t: Handle, g: Handle | null): void;
  requiresGrad(t: Handle): boolean;
  setRequiresGrad(t: Handle, on: boolean): void;
  isLeaf(t: Handle): boolean;
  retainGrad(t: Handle): void;
  setGradEnabled(on: boolean): boolean;
  isGradEnabled(): boolean;
  autocastEnter(device: string, dtype: number): [boolean, number];
  autocastExit(device: string, enabled: boolean, dtype: number): void;
  isAutocastEnabled(device: string): boolean;
  manualSeed(seed: number): void;
  newGenerator(device: string, seed: number): GeneratorHandle;
  defaultGenerator(device: string): GeneratorHandle;
  generatorState(g: GeneratorHandle): Handle;
  setGeneratorState(g: GeneratorHandle, state: Handle): void;
  generatorSeed(g: GeneratorHandle): number;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  setNumInteropThreads(n: number): void;
  buildInfo(): BuildInfo;
  blasInfo(): NativeBlasInfo;
  /** a @ b for equally batched stacks, the batch split across intra-op threads (native/src/batched_matmul.cc). */
  batchedMatmul(a: Handle, b: Handle): Handle;
  memoryStats(): import('./allocator.js').MemoryStats;
  emptyCache(): void;
  /** c10d backends compiled in ('gloo', 'nccl'); the dist* functions exist only with 'gloo'. */
  distBackends(): string[];
  distCreateGroup?(opts: NativeGroupOptions): Promise<GroupHandle>;
  distAllreduce?(g: GroupHandle, tensors: Handle[], op: string): WorkHandle;
  distBroadcast?(g: GroupHandle, tensors: Handle[], root: number): WorkHandle;
  distAllgather?(g: GroupHandle, outputs: Handle[][], inputs: Handle[]): WorkHandle;
  distBarrier?(g: GroupHandle): WorkHandle;
  distWait?(w: WorkHandle): Promise<void>;
  distIsCompleted?(w: WorkHandle): boolean;
  distDestroyGroup?(g: GroupHandle): Promise<void>;
}

function loadAddon(): NativeAddon {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // src/torch (tests run from dist/src/torch) → repository root holding native/
  const candidates = [path.resolve(here, '../../native'), path.resolve(here, '../../../native')];
  const dir = candidates.find((d) => existsSync(path.join(d, 'build', 'Release', 'regts.node')));
  if (!dir) {
    throw new Error(
      'reg-ts native addon is not built: run `npm install` (or `node native/build.mjs`) in the reg-ts directory. ' +
        'It needs libtorch: `apt-get install libtorch-dev` on Debian, a pip torch, or LIBTORCH=<dir>.',
    );
  }
  const require = createRequire(import.meta.url);
  return loadWithThreadTuning(() => require(path.join(dir, 'build', 'Release', 'regts.node')) as NativeAddon);
}

/** The loaded addon. */
export const native: NativeAddon = loadAddon();
