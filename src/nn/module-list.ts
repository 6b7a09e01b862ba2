/** ModuleList: children named by index, as PyTorch's nn.ModuleList and nn.Sequential name them. */
import { Module } from './module.js';
import type { Tensor } from '../torch/tensor.js';

/** Children named '0', '1', … or by explicit index (PyTorch nn.ModuleList / nn.Sequential naming). */
export class ModuleList<M extends Module> extends Module {
  readonly items: M[] = [];

  /** `items` are registered as '0', '1', …; pairs [index, module] keep gaps (Sequential slots without parameters). */
  constructor(items: readonly (M | readonly [number, M])[]) {
    super();
    items.forEach((it, i) => {
      const [index, m] = Array.isArray(it) ? (it as readonly [number, M]) : [i, it as M];
      this.items.push(this.child(String(index), m));
    });
  }

  get length(): number {
    return this.items.length;
  }

  /**
   * Threads `x` through the modules in order and returns the last result:
   *
   *   h₀ = x,  hᵢ₊₁ = step(items[i], hᵢ, i)
   *
   * Each hᵢ (x included) is disposed as soon as hᵢ₊₁ exists, as a Python loop that rebinds h frees it,
   * so only one step's tensors are alive at a time; with `keepAll` none is disposed (the caller holds
   * them, e.g. to return them). `x` is consumed: pass a tensor the calling forward created.
   */
  chain(x: Tensor, step: (module: M, h: Tensor, index: number) => Tensor, { keepAll = false } = {}): Tensor {
    let h = x;
    this.items.forEach((m, i) => {
      const next = step(m, h, i);
      if (!keepAll && next !== h) h.dispose();
      h = next;
    });
    return h;
  }
}
