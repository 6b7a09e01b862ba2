/**
 * Gradient checking: compares the gradients autograd computes with central finite differences.
 *
 * For a function f of tensors x₁…xₖ with tensor output(s) y, gradcheck fixes a random tensor r of
 * y's shape and checks the gradient of the scalar
 *
 *     L(x) = Σ y(x) · r
 *
 * (a random projection, so every output element and every Jacobian row takes part). The analytic
 * gradient ∂L/∂xᵢ comes from one `backward()`; the numeric one perturbs each input element by ±h:
 *
 *     ∂L/∂x[j] ≈ (L(x + h·eⱼ) − L(x − h·eⱼ)) / 2h        (error O(h²) + O(ε·|L|/h))
 *
 * and the check passes when |numeric − analytic| ≤ atol + rtol·|numeric| for every element.
 * Run it in float64: with h = 1e-6 the truncation error is ~1e-12 and the rounding error
 * ε·|L|/h ≈ 1e-10·|L|, far below rtol = 1e-5. In float32 (ε ≈ 1e-7) finite differences carry only
 * ~3 significant digits, so float32 inputs are rejected.
 *
 *   gradcheck((x, w) => F.linear(x, w), [randn([2, 3], { dtype: 'float64' }), randn([4, 3], { dtype: 'float64' })]);
 *
 * Inputs that are not float64 (integer indices, boolean masks) are passed through unchanged and not
 * differentiated. The caller's tensors are never modified: gradcheck works on copies, and every
 * tensor it creates is released before it returns.
 */
import { fromBytes, randn } from './creation.js';
import { noGrad } from './autograd.js';
import { Generator } from './random.js';
import { scope } from './scope.js';
import type { Tensor } from './tensor.js';

/** Options of {@link gradcheck}. */
export interface GradcheckOptions {
  /** Finite-difference step h (default 1e-6). */
  eps?: number;
  /** Relative tolerance (default 1e-5). */
  rtol?: number;
  /** Absolute tolerance (default 1e-7). */
  atol?: number;
  /** Seed of the random projection r (default 0). */
  seed?: number;
  /** Indices of the inputs to check (default: every float64 input). */
  wrt?: readonly number[];
}

/** What {@link gradcheck} measured. */
export interface GradcheckResult {
  /** Number of input elements whose derivative was checked. */
  checked: number;
  /** Largest |numeric − analytic| over all checked elements. */
  maxAbsError: number;
  /** Largest |numeric − analytic| / max(|numeric|, atol/rtol). */
  maxRelError: number;
}

/** A gradient that disagrees with finite differences. */
export class GradcheckError extends Error {
  constructor(
    message: string,
    /** Which input (position in the inputs array). */
    readonly input: number,
    /** Flat (row-major) index of the element. */
    readonly element: number,
    readonly numeric: number,
    readonly analytic: number,
  ) {
    super(message);
    this.name = 'GradcheckError';
  }
}

type Fn = (...inputs: Tensor[]) => Tensor | readonly Tensor[];

function outputsOf(y: Tensor | readonly Tensor[]): readonly Tensor[] {
  return Array.isArray(y) ? (y as readonly Tensor[]) : [y as Tensor];
}

/** Σₖ sum(yₖ · rₖ) as a scalar tensor. */
function project(ys: readonly Tensor[], rs: readonly Tensor[]): Tensor {
  let total: Tensor | null = null;
  ys.forEach((y, k) => {
    const term = y.mul(rs[k]!).sum();
    total = total === null ? term : total.add(term);
  });
  if (total === null) throw new TypeError('gradcheck: the function returned no tensors');
  return total;
}

/**
 * Checks the gradients of `fn` at `inputs` against central finite differences (see the module
 * comment for the method). Returns the measured errors; throws a {@link GradcheckError} naming the
 * input and element of the first mismatch.
 */
export function gradcheck(fn: Fn, inputs: readonly Tensor[], opts: GradcheckOptions = {}): GradcheckResult {
  const { eps = 1e-6, rtol = 1e-5, atol = 1e-7, seed = 0 } = opts;
  const wrt = opts.wrt ?? inputs.flatMap((t, i) => (t.dtype === 'float64' ? [i] : []));
  for (const i of wrt) {
    const t = inputs[i];
    if (t === undefined) throw new RangeError(`gradcheck: no input at position ${i}`);
    if (t.dtype !== 'float64') throw new TypeError(`gradcheck: input ${i} is ${t.dtype}; finite differences need float64`);
  }
  if (wrt.length === 0) throw new TypeError('gradcheck: no float64 input to differentiate');

  return scope(() => {
    // Leaf copies that require grad; the others are passed through.
    const leaves = inputs.map((t, i) => (wrt.includes(i) ? t.detach().clone().requiresGrad_(true) : t));
    const ys = outputsOf(fn(...leaves));
    const g = new Generator(seed);
    const rs = ys.map((y) => {
      if (y.dtype !== 'float64') throw new TypeError(`gradcheck: output is ${y.dtype}; compute in float64`);
      return randn(y.shape, { dtype: 'float64', generator: g });
    });
    project(ys, rs).backward();

    let checked = 0;
    let maxAbsError = 0;
    let maxRelError = 0;
    for (const i of wrt) {
      const leaf = leaves[i]!;
      const grad = leaf.grad;
      const analytic = grad === null ? new Float64Array(leaf.numel) : (grad.contiguous().toTypedArray() as Float64Array);
      const base = leaf.detach().contiguous().toTypedArray() as Float64Array;
      const work = new Float64Array(base);
      const loss = (): number =>
        scope(() => {
          const args = leaves.map((t, k) => (k === i ? fromBytes(work, 'float64', leaf.shape) : t.detach()));
          return noGrad(() => project(outputsOf(fn(...args)), rs).item());
        });
      for (let j = 0; j < base.length; j++) {
        work[j] = base[j]! + eps;
        const plus = loss();
        work[j] = base[j]! - eps;
        const minus = loss();
        work[j] = base[j]!;
        const numeric = (plus - minus) / (2 * eps);
        const a = analytic[j]!;
        const err = Math.abs(numeric - a);
        checked++;
        maxAbsError = Math.max(maxAbsError, err);
        maxRelError = Math.max(maxRelError, err / Math.max(Math.abs(numeric), atol / rtol));
        if (!(err <= atol + rtol * Math.abs(numeric))) {
          throw new GradcheckError(
            `gradcheck: input ${i} element ${j} (shape [${leaf.shape.join(', ')}]): numeric ${numeric}, analytic ${a}, |difference| ${err.toExponential(3)}`,
            i,
            j,
            numeric,
            a,
          );
        }
      }
    }
    return { checked, maxAbsError, maxRelError };
  });
}
