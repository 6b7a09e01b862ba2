/**
 * reg-ts's tensor library: libtorch tensors, operators and autograd for TypeScript.
 *
 *   import * as torch from 'reg-ts/torch';
 *   const y = torch.scope(() => torch.F.gelu(torch.randn([2, 3]), 'tanh'));
 */
export { Tensor, type TensorOrScalar } from './tensor.js';
export type { DType } from './dtype.js';
export { isFloatingPoint } from './dtype.js';
export type { Device } from './device.js';
export * from './creation.js';
export { Generator, manualSeed, getRngState, setRngState } from './random.js';
export { noGrad, enableGrad, isGradEnabled } from './autograd.js';
export { autocast, autocastDtypes, isAutocastEnabled } from './autocast.js';
export { scope, keep, scopeDepth } from './scope.js';
export { op, hasOp } from './ops.js';
export { memoryStats, emptyCache, type MemoryStats } from './allocator.js';
export { buildInfo, cudaAvailable, cudaDeviceCount, setNumThreads, getNumThreads, liveTensors, MAX_THREADS } from './runtime.js';
export { describeThreadTuning, physicalCores, SHORT_SPIN_WAITS, threadTuning, type ThreadTuning } from './cpu-threads.js';
export {
  blasInfo,
  describeBlas,
  describeThreads,
  gemmProbe,
  referenceBlasWarning,
  warnIfReferenceBlas,
  OPTIMISED_BLAS_PACKAGE,
  type BlasInfo,
  type BlasVendor,
  type GemmProbe,
} from './blas.js';
export { gradcheck, GradcheckError, type GradcheckOptions, type GradcheckResult } from './gradcheck.js';
export * as F from './functional.js';
