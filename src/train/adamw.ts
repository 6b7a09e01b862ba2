/**
 * Optimizers as small composable transforms (in the manner of optax / jax-js): each transform maps a
 * parameter's update (initially its gradient) to a new update, keeping whatever per-parameter state it
 * needs; an {@link Optimizer} chains them and adds the final update to the parameter.
 *
 *   adamw(params, {lr: 1e-4})  ≡  new Optimizer(params, [scaleByAdam(), addDecayedWeights(wd), scaleByLearningRate(lr)])
 *
 * which is torch.optim.AdamW (decoupled weight decay, bias-corrected moments):
 *
 *   m ← β₁m + (1−β₁)g           v ← β₂v + (1−β₂)g²          (k = this parameter's step, from 1)
 *   p ← p − η(k)·( m/(1−β₁ᵏ) / (√v/√(1−β₂ᵏ) + ε)  +  λp )
 *
 * An update is kept in the factored form u = scale·num/den + decay·p ({@link Update}) so that scalar
 * transforms (learning rate, bias correction, weight decay) cost no pass over the data, and applying
 * it is PyTorch's own sequence `p.mul_(1 − ηλ); p.addcdiv_(m, den, −η/(1−β₁ᵏ))`; a transform that
 * needs the plain values calls {@link materialize}.
 *
 * Parameters whose gradient is null are skipped (their moments and step count do not move), as in PyTorch.
 */
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { constant, type Schedule } from './schedule.js';

/** A parameter with its state-dict name. */
export type NamedParam = readonly [name: string, param: Tensor];

/**
 * An update in factored form: u = scale · num / den + decay · p (den absent: u = scale · num + decay · p).
 * `num` and `den` may be the gradient or transform state: never modify them in place. Tensors created
 * for this update go in `temps` and are released once it has been applied.
 */
export interface Update {
  readonly num: Tensor;
  readonly den: Tensor | null;
  readonly scale: number;
  readonly decay: number;
  readonly temps: readonly Tensor[];
}

/** The update equal to `g` itself. */
export const plainUpdate = (g: Tensor): Update => ({ num: g, den: null, scale: 1, decay: 0, temps: [] });

/** The values of `u` as one tensor (`u.num` itself when it is plain); new tensors join `temps`. */
export function materialize(u: Update, p: Tensor): { value: Tensor; temps: Tensor[] } {
  const temps = [...u.temps];
  if (u.den === null && u.scale === 1 && u.decay === 0) return { value: u.num, temps };
  const value = u.den === null ? u.num.mul(u.scale) : u.num.div(u.den).mul_(u.scale);
  if (u.decay !== 0) value.add_(p, u.decay);
  temps.push(value);
  return { value, temps };
}

/** The per-run state of one transform over a fixed list of parameters. */
export interface TransformState {
  /** The new update of parameter `i` given its current update `u`; `step` is the optimizer's 1-based step. */
  update(i: number, u: Update, param: Tensor, step: number): Update;
  /** State to checkpoint, by name (`<param>.<slot>`); stateless transforms return an empty map. */
  stateDict(): Map<string, Tensor>;
  /** Restores what stateDict() returned; throws naming the first missing or mis-shaped entry. */
  loadStateDict(state: ReadonlyMap<string, Tensor>): void;
  /** Releases the state's tensors. */
  dispose?(): void;
}

/** A transform: creates its state for a list of parameters. */
export type Transform = (params: readonly NamedParam[]) => TransformState;

const stateless = (update: TransformState['update']): TransformState => ({
  update,
  stateDict: () => new Map(),
  loadStateDict: () => undefined,
});

function need(state: ReadonlyMap<string, Tensor>, key: string, like?: Tensor): Tensor {
  const t = state.get(key);
  if (t === undefined) throw new Error(`optimizer state has no entry '${key}'`);
  if (like && t.shape.join(',') !== like.shape.join(',')) {
    throw new Error(`optimizer state '${key}' has shape [${t.shape.join(', ')}], the parameter has [${like.shape.join(', ')}]`);
  }
  return t;
}

/** Options of {@link scaleByAdam}. */
export interface AdamOptions {
  /** β₁, decay of the first moment (default 0.9). */
  beta1?: number;
  /** β₂, decay of the second moment (default 0.999). */
  beta2?: number;
  /** ε added to the denominator (default 1e-8). */
  eps?: number;
}

/**
 * Adam's direction m̂/(√v̂ + ε) with bias-corrected moments, m̂ = m/(1−β₁ᵏ), √v̂ = √v/√(1−β₂ᵏ);
 * state per parameter: `exp_avg` (m), `exp_avg_sq` (v) and `step` (k), PyTorch's names.
 */
export function scaleByAdam({ beta1 = 0.9, beta2 = 0.999, eps = 1e-8 }: AdamOptions = {}): Transform {
  return (params) => {
    const expAvg = params.map(([, p]) => torch.keep(torch.zerosLike(p)));
    const expAvgSq = params.map(([, p]) => torch.keep(torch.zerosLike(p)));
    const steps = params.map(() => 0);
    return {
      update(i, u, p) {
        const { value: g, temps } = materialize(u, p);
        const k = ++steps[i]!;
        const m = expAvg[i]!;
        const v = expAvgSq[i]!;
        m.mul_(beta1).add_(g, 1 - beta1);
        v.mul_(beta2).addcmul_(g, g, 1 - beta2);
        for (const t of temps) t.dispose();
        const denom = v
          .sqrt()
          .div_(Math.sqrt(1 - beta2 ** k))
          .add_(eps);
        return { num: m, den: denom, scale: 1 / (1 - beta1 ** k), decay: 0, temps: [denom] };
      },
      stateDict() {
        const out = new Map<string, Tensor>();
        params.forEach(([name], i) => {
          out.set(`${name}.exp_avg`, expAvg[i]!);
          out.set(`${name}.exp_avg_sq`, expAvgSq[i]!);
          out.set(`${name}.step`, torch.tensor(steps[i]!, { dtype: 'float32' }));
        });
        return out;
      },
      loadStateDict(state) {
        params.forEach(([name, p], i) => {
          torch.noGrad(() => {
            expAvg[i]!.copy_(need(state, `${name}.exp_avg`, p));
            expAvgSq[i]!.copy_(need(state, `${name}.exp_avg_sq`, p));
          });
          const k = need(state, `${name}.step`).item();
          if (!Number.isInteger(k) || k < 0) throw new Error(`optimizer state '${name}.step' is ${k}, not a step count`);
          steps[i] = k;
        });
      },
      dispose() {
        for (const t of [...expAvg, ...expAvgSq]) t.dispose();
      },
    };
  };
}

/** Decoupled weight decay: u ← u + λ·p (then scaled by the learning rate: p ← p − ηλp). */
export function addDecayedWeights(weightDecay: number): Transform {
  return () => stateless((_i, u) => ({ ...u, decay: u.decay + weightDecay }));
}

/** u ← −η(step)·u, η a number or a {@link Schedule}. */
export function scaleByLearningRate(lr: number | Schedule): Transform {
  const schedule = typeof lr === 'number' ? constant(lr) : lr;
  return () =>
    stateless((_i, u, _p, step) => {
      const eta = schedule(step);
      return { ...u, scale: u.scale * -eta, decay: u.decay * -eta };
    });
}

/** Applies transforms in order: chain(a, b)(u) = b(a(u)). */
export function chain(...transforms: Transform[]): Transform {
  return (params) => {
    const states = transforms.map((t) => t(params));
    return {
      update(i, u, p, step) {
        let cur = u;
        for (const s of states) cur = s.update(i, cur, p, step);
        return cur;
      },
      stateDict: () => new Map(states.flatMap((s) => [...s.stateDict()])),
      loadStateDict: (state) => states.forEach((s) => s.loadStateDict(state)),
      dispose: () => states.forEach((s) => s.dispose?.()),
    };
  };
}

/** Gradient-based optimizer over named parameters: p ← p + transform(grad). */
export class Optimizer {
  /** The optimized parameters (those that require grad), in order. */
  readonly params: readonly NamedParam[];
  readonly #state: TransformState;
  #step = 0;

  constructor(params: Iterable<NamedParam>, transforms: readonly Transform[]) {
    this.params = [...params].filter(([, p]) => p.requiresGrad);
    const names = new Set<string>();
    for (const [n] of this.params) {
      if (names.has(n)) throw new Error(`optimizer: duplicate parameter name '${n}'`);
      names.add(n);
    }
    this.#state = chain(...transforms)(this.params);
  }

  /** Number of step() calls so far. */
  get stepCount(): number {
    return this.#step;
  }

  /**
   * One update of every parameter that has a gradient: p ← p + u with u = scale·num/den + decay·p,
   * applied as p.mul_(1 + decay) then p.addcdiv_(num, den, scale) (PyTorch AdamW's two operations).
   */
  step(): void {
    const step = ++this.#step;
    torch.noGrad(() => {
      this.params.forEach(([, p], i) => {
        const g = p.grad;
        if (g === null) return;
        const u = this.#state.update(i, plainUpdate(g), p, step);
        if (u.decay !== 0) p.mul_(1 + u.decay);
        if (u.den !== null) p.addcdiv_(u.num, u.den, u.scale);
        else p.add_(u.num, u.scale);
        for (const t of u.temps) t.dispose();
        g.dispose();
      });
    });
  }

  /** Sets every gradient to null (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const [, p] of this.params) p.grad = null;
  }

  /** The state to checkpoint: every transform's tensors, plus the step count under `__step__`. */
  stateDict(): Map<string, Tensor> {
    const out = this.#state.stateDict();
    out.set('__step__', torch.tensor(this.#step, { dtype: 'float64' }));
    return out;
  }

  /** Releases the optimizer state (the parameters are not touched). */
  dispose(): void {
    this.#state.dispose?.();
  }

  /** Restores stateDict() output (keys, shapes and the step count are checked). */
  loadStateDict(state: ReadonlyMap<string, Tensor>): void {
    const own = this.stateDict();
    const unexpected = [...state.keys()].filter((k) => !own.has(k));
    if (unexpected.length > 0)
      throw new Error(`optimizer state has unexpected entries: ${unexpected.slice(0, 5).join(', ')}${unexpected.length > 5 ? ', …' : ''}`);
    this.#state.loadStateDict(state);
    this.#step = need(state, '__step__').item();
  }
}

/** Options of {@link adamw}: torch.optim.AdamW's, with the same defaults except lr (REG's 1e-4). */
export interface AdamWOptions extends AdamOptions {
  /** Learning rate or schedule (default 1e-4). */
  lr?: number | Schedule;
  /** Decoupled weight decay λ (default 0, as REG; PyTorch's default is 0.01). */
  weightDecay?: number;
}

/** AdamW as torch.optim.AdamW: scaleByAdam → addDecayedWeights → scaleByLearningRate. */
export function adamw(params: Iterable<NamedParam>, { lr = 1e-4, weightDecay = 0, ...adam }: AdamWOptions = {}): Optimizer {
  return new Optimizer(params, [scaleByAdam(adam), addDecayedWeights(weightDecay), scaleByLearningRate(lr)]);
}
