/**
 * Module: the base of every network. A module owns named parameters (trainable tensors), buffers
 * (state that is saved but not trained) and child modules; names compose with dots exactly as in
 * PyTorch (`blocks.3.attn.qkv.weight`), so state dicts interchange with PyTorch checkpoints.
 *
 * A module's `forward` runs in its own scope (see {@link Module}): the tensors it returns survive,
 * every other tensor it creates is freed when it returns, so network code never manages memory.
 */
import { noGrad } from '../torch/autograd.js';
import { isFloatingPoint, type DType } from '../torch/dtype.js';
import type { Device } from '../torch/device.js';
import { keep, scope } from '../torch/scope.js';
import type { Tensor } from '../torch/tensor.js';
import { checkStoredDType } from './state-dtype.js';

/** What loadStateDict found wrong, when not strict. */
export interface LoadReport {
  missing: string[];
  unexpected: string[];
}

/**
 * Base class of networks. Subclasses register parameters, buffers and children in their constructor
 * and define a `forward` method (any signature; declare it as a method, not as a field).
 *
 * Every call of `forward` runs inside `torch.scope`: the returned tensors (a tensor, or tensors in
 * arrays, plain objects and Maps, as `scope` defines) move to the caller's scope; every other tensor
 * created during the call, in this module or in the children it calls, is disposed when it returns.
 * Inputs are not touched. A tensor that must outlive the call without being returned (a cache, a
 * hook's copy) needs `torch.keep`.
 */
export abstract class Module {
  /** Training mode (label dropout etc.); switch with train()/eval(). */
  training = true;
  readonly #params = new Map<string, Tensor>();
  readonly #buffers = new Map<string, { tensor: Tensor; persistent: boolean }>();
  readonly #children = new Map<string, Module>();

  constructor() {
    // `this.forward` is already the most derived class's method here (prototypes are set before any
    // constructor body runs); an own property wraps it, so `super.forward()` calls stay unwrapped.
    const forward: unknown = Reflect.get(this, 'forward');
    if (typeof forward === 'function') {
      const run = forward as (...args: unknown[]) => unknown;
      Object.defineProperty(this, 'forward', {
        value: (...args: unknown[]) => scope(() => run.apply(this, args)),
        writable: true,
        configurable: true,
      });
    }
  }

  /** Registers a trainable parameter (kept out of scopes, requires grad unless `trainable` is false). */
  protected param(name: string, t: Tensor, { trainable = true } = {}): Tensor {
    keep(t);
    if (trainable) t.requiresGrad_(true);
    this.#params.set(name, t);
    return t;
  }

  /** Registers a buffer (saved in the state dict when persistent; never trained). */
  protected buffer(name: string, t: Tensor, { persistent = true } = {}): Tensor {
    keep(t);
    this.#buffers.set(name, { tensor: t, persistent });
    return t;
  }

  /** Registers a child module under `name`. */
  protected child<M extends Module>(name: string, m: M): M {
    this.#children.set(name, m);
    return m;
  }

  /** Direct children in registration order. */
  children(): [string, Module][] {
    return [...this.#children];
  }

  /** Every parameter with its dotted name, depth first in registration order. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, p] of this.#params) out.push([prefix + n, p]);
    for (const [n, c] of this.#children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }

  /** Every parameter. */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Parameters that require grad. */
  trainableParameters(): Tensor[] {
    return this.parameters().filter((p) => p.requiresGrad);
  }

  /** Every buffer with its dotted name (persistent ones only unless `all`). */
  namedBuffers(prefix = '', all = false): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, b] of this.#buffers) if (all || b.persistent) out.push([prefix + n, b.tensor]);
    for (const [n, c] of this.#children) out.push(...c.namedBuffers(`${prefix}${n}.`, all));
    return out;
  }

  /** Number of parameter elements (trainable only when asked). */
  numParameters({ trainableOnly = false } = {}): number {
    return (trainableOnly ? this.trainableParameters() : this.parameters()).reduce((n, p) => n + p.numel, 0);
  }

  /** Parameters and persistent buffers by name (the tensors themselves, not copies). */
  stateDict(): Map<string, Tensor> {
    return new Map([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /**
   * Copies values from `state` into this module's tensors (converting dtype/device).
   * Strict mode throws on missing or unexpected keys; shape mismatches always throw, naming the key, and so
   * does a dtype of another kind: a floating tensor takes any floating dtype (cast), an integer one any
   * integer dtype, a bool one only bool (an int32 weight would be value-cast into garbage).
   */
  loadStateDict(state: Map<string, Tensor> | Record<string, Tensor>, { strict = true } = {}): LoadReport {
    const source = state instanceof Map ? state : new Map(Object.entries(state));
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !source.has(k));
    const unexpected = [...source.keys()].filter((k) => !own.has(k));
    if (strict && (missing.length > 0 || unexpected.length > 0)) {
      const show = (l: string[]) => (l.length > 8 ? `${l.slice(0, 8).join(', ')}, … (${l.length})` : l.join(', '));
      throw new Error(
        `loadStateDict: ${missing.length ? `missing keys: ${show(missing)}` : ''}${missing.length && unexpected.length ? '; ' : ''}${unexpected.length ? `unexpected keys: ${show(unexpected)}` : ''}`,
      );
    }
    for (const [k, target] of own) {
      const src = source.get(k);
      if (!src) continue;
      if (src.shape.join(',') !== target.shape.join(',')) {
        throw new Error(
          `loadStateDict: '${k}' has shape [${src.shape.join(', ')}] in the checkpoint but [${target.shape.join(', ')}] in the model`,
        );
      }
      checkStoredDType(`loadStateDict: '${k}'`, src.dtype, target.dtype);
    }
    noGrad(() => {
      for (const [k, target] of own) {
        const src = source.get(k);
        if (src) target.copy_(src);
      }
    });
    return { missing, unexpected };
  }

  /** Sets training mode recursively; returns this. */
  train(on = true): this {
    this.training = on;
    for (const c of this.#children.values()) c.train(on);
    return this;
  }

  /** Evaluation mode (train(false)). */
  eval(): this {
    return this.train(false);
  }

  /** Moves/converts every parameter and buffer in place (floating tensors only change dtype). */
  to(target: { device?: Device; dtype?: DType }): this {
    noGrad(() => {
      for (const t of [...this.parameters(), ...this.namedBuffers('', true).map(([, b]) => b)]) {
        const moved = t.to({ device: target.device ?? t.device, dtype: isFloatingPoint(t.dtype) && target.dtype ? target.dtype : t.dtype });
        t.setData_(moved);
        moved.dispose();
      }
    });
    return this;
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Sets requiresGrad on every parameter (false freezes the module, as PyTorch's requires_grad_); returns this. */
  requiresGrad_(on = true): this {
    for (const p of this.parameters()) p.requiresGrad_(on);
    return this;
  }

  /**
   * Releases every parameter and buffer (persistent or not) of this module and its children; their
   * memory, gradients included, is freed once nothing else (an autograd graph, a view) holds it. The
   * module cannot run afterwards. Safe to call twice.
   */
  dispose(): void {
    for (const p of this.parameters()) p.dispose();
    for (const [, b] of this.namedBuffers('', true)) b.dispose();
  }

  /** `using model = …` disposes the module at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
