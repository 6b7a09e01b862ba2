/**
 * The device of the device-aware tests (the SiT, objective and sampler comparisons with the PyTorch
 * fixtures): `REGTS_TEST_DEVICE` = `cpu` (the default) or `cuda` (scripts/gpu-check.sh runs them on
 * cuda:0). Asking for CUDA where the addon sees none is an error, not a silent run on the CPU.
 *
 * Tolerances on CUDA ({@link testTolerance}): float32 convolutions run in TF32 by default there (cuDNN;
 * cuBLAS matmuls stay IEEE float32 unless allowed), whose 10-bit mantissa rounds each product to
 * 2⁻¹¹ ≈ 4.9 × 10⁻⁴ relative, so a float32 tolerance becomes at least 2 × 10⁻³; float64 has no TF32 and
 * differs from the CPU only in summation order and fused multiply-adds: 100 × the CPU tolerance.
 */
import * as torch from '../src/torch/index.js';
import type { Device, Tensor } from '../src/torch/index.js';
import type { Fixture } from './diffusion-testing.js';

function fromEnvironment(): Device {
  const v = process.env.REGTS_TEST_DEVICE ?? 'cpu';
  if (v !== 'cpu' && v !== 'cuda') throw new Error(`REGTS_TEST_DEVICE=${v}: expected cpu or cuda`);
  if (v === 'cuda' && !torch.cudaAvailable()) throw new Error('REGTS_TEST_DEVICE=cuda, but the reg-ts addon sees no CUDA device');
  return v;
}

/** Where the device-aware tests run. */
export const TEST_DEVICE: Device = fromEnvironment();

/** The tolerance of a check whose CPU tolerance is `cpu`, on {@link TEST_DEVICE} (file comment). */
export function testTolerance(cpu: number, dtype: 'f32' | 'f64'): number {
  if (TEST_DEVICE === 'cpu') return cpu;
  return dtype === 'f32' ? Math.max(cpu, 2e-3) : cpu * 100;
}

/** Moves every tensor of `tensors` to {@link TEST_DEVICE} in place, disposing the CPU copies (nothing to do on the CPU). */
export function moveToTestDevice(tensors: Map<string, Tensor>): void {
  if (TEST_DEVICE === 'cpu') return;
  for (const [k, t] of tensors) {
    tensors.set(k, torch.keep(t.to({ device: TEST_DEVICE })));
    t.dispose();
  }
}

/** `fx` with every tensor moved to {@link TEST_DEVICE} (the same fixture on the CPU). */
export function onTestDevice(fx: Fixture): Fixture {
  moveToTestDevice(fx.tensors);
  return fx;
}
