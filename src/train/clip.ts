/**
 * Gradient-norm clipping, exactly torch.nn.utils.clip_grad_norm_:
 *
 *   n = ‖(‖g₁‖, ‖g₂‖, …)‖          (total 2-norm over every gradient, computed per tensor then combined)
 *   g ← g · min(1, maxNorm/(n + 1e-6))
 *
 * Parameters without a gradient are ignored. The coefficient stays a tensor (no host sync before the
 * multiply), and every gradient is multiplied, by 1 when the norm is below maxNorm — as PyTorch does.
 */
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';

/** The gradients of `params` that exist (new handles; dispose them). */
function grads(params: Iterable<Tensor>): Tensor[] {
  const out: Tensor[] = [];
  for (const p of params) {
    const g = p.grad;
    if (g !== null) out.push(g);
  }
  return out;
}

/**
 * Total `normType`-norm of the gradients of `params` (0 when none has a gradient), as a 0-d float tensor.
 */
export function gradNorm(params: Iterable<Tensor>, normType = 2): Tensor {
  return torch.scope(() => {
    const gs = grads(params);
    if (gs.length === 0) return torch.zeros([]);
    return torch.noGrad(() => torch.stack(gs.map((g) => g.detach().norm(normType))).norm(normType));
  });
}

/**
 * Scales the gradients of `params` in place so that their total norm is at most `maxNorm`; returns the
 * total norm before clipping (NaN or Infinity when a gradient is not finite; gradients are then scaled by
 * NaN or 0, as in PyTorch without error_if_nonfinite).
 */
export function clipGradNorm_(params: Iterable<Tensor>, maxNorm: number, normType = 2): number {
  return torch.scope(() =>
    torch.noGrad(() => {
      const gs = grads(params);
      if (gs.length === 0) return 0;
      const total = torch.stack(gs.map((g) => g.norm(normType))).norm(normType);
      const coef = torch.fullLike(total, maxNorm).div(total.add(1e-6)).clamp(undefined, 1);
      for (const g of gs) g.mul_(coef);
      return total.item();
    }),
  );
}
