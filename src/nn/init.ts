/**
 * Parameter initialisers (torch.nn.init), all in place and without autograd history.
 * Each takes an optional Generator so initialisation can be reproduced exactly.
 * Inside {@link skipInit} every one of them leaves its tensor as it is.
 */
import { noGrad } from '../torch/autograd.js';
import { op } from '../torch/ops.js';
import type { Generator } from '../torch/random.js';
import type { Tensor } from '../torch/tensor.js';
import { native } from '../torch/native.js';

const O = { uniform_: op('aten::uniform_'), normal_: op('aten::normal_') };

let skipping = 0;

/**
 * Builds modules without initialising them, as PyTorch's `torch.nn.utils.skip_init`: while `build`
 * runs, every initialiser in this file is a no-op, so the layers' parameters keep the uninitialised
 * memory they are allocated with (`torch.empty`) and nothing is drawn from any generator. Large
 * weights then cost only address space until written. For networks whose every tensor is loaded
 * right after (a strict loadStateDict), and for reading a network's structure (names and shapes).
 */
export function skipInit<T>(build: () => T): T {
  skipping++;
  try {
    return build();
  } finally {
    skipping--;
  }
}

function inPlace(o: typeof O.uniform_, t: Tensor, a: number, b: number, generator?: Generator): Tensor {
  if (skipping > 0) return t;
  noGrad(() => native.dispose(native.call(o.id, t.handle, a, b, generator?.handle ?? null) as never));
  return t;
}

/** Fills with U(a, b). */
export function uniform_(t: Tensor, a = 0, b = 1, generator?: Generator): Tensor {
  return inPlace(O.uniform_, t, a, b, generator);
}

/** Fills with N(mean, std²). */
export function normal_(t: Tensor, mean = 0, std = 1, generator?: Generator): Tensor {
  return inPlace(O.normal_, t, mean, std, generator);
}

/** Fills with a constant. */
export function constant_(t: Tensor, value: number): Tensor {
  return skipping > 0 ? t : noGrad(() => t.fill_(value));
}

/** Fills with zeros. */
export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

/** Fills with ones. */
export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/** (fan_in, fan_out) of a weight: dims 1 and 0 times the receptive field (product of dims ≥ 2). */
export function fans(t: Tensor): [number, number] {
  if (t.ndim < 2) throw new RangeError('fan in/out needs a tensor with at least 2 dimensions');
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return [t.shape[1]! * receptive, t.shape[0]! * receptive];
}

/** Xavier/Glorot uniform: U(−a, a) with a = gain·√(6 / (fan_in + fan_out)). */
export function xavierUniform_(t: Tensor, gain = 1, generator?: Generator): Tensor {
  const [fanIn, fanOut] = fans(t);
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -a, a, generator);
}

/**
 * PyTorch's default Linear/Conv init (kaiming_uniform with a = √5): U(−1/√fan_in, 1/√fan_in)
 * for the weight; the same bound is used for the bias.
 */
export function defaultUniformBound(weight: Tensor): number {
  return 1 / Math.sqrt(fans(weight)[0]);
}
