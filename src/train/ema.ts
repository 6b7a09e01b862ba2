/**
 * Exponential moving average of a model's weights, as the official trainer keeps it (docs/method.md#training-setup):
 *
 *   e ← d·e + (1 − d)·p        after every optimizer step, d = 0.9999, for EVERY named parameter
 *                              (frozen ones such as pos_embed included); e starts as an exact copy.
 *
 * The average lives in float32 beside the model (the tensors only, not a second module); its state
 * dict has the model's keys (persistent buffers are copied, not averaged), so it loads into a fresh
 * model for sampling.
 */
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { checkStoredDType } from '../nn/state-dtype.js';

/** What EMA needs from a model: nn.Module's namedParameters and stateDict. */
export interface HasParameters {
  namedParameters(): [string, Tensor][];
  stateDict(): Map<string, Tensor>;
}

/** EMA of a model's parameters. */
export class EMA {
  readonly #model: HasParameters;
  readonly #params: [string, Tensor, Tensor][];
  readonly #state: Map<string, Tensor>;

  /** Starts the average as a copy of `model`'s current weights (kept in float32 for floating tensors). */
  constructor(
    model: HasParameters,
    readonly decay = 0.9999,
  ) {
    if (!(decay >= 0 && decay <= 1)) throw new RangeError(`EMA decay must be in [0, 1], got ${decay}`);
    this.#model = model;
    this.#state = new Map();
    torch.noGrad(() => {
      for (const [name, t] of model.stateDict()) {
        const floating = torch.isFloatingPoint(t.dtype);
        this.#state.set(
          name,
          torch.keep(
            t
              .detach()
              .to({ dtype: floating ? 'float32' : t.dtype })
              .clone(),
          ),
        );
      }
    });
    this.#params = model.namedParameters().map(([name, p]) => [name, p, this.#state.get(name)!]);
  }

  /** e ← d·e + (1 − d)·p for every parameter (`decay` overrides d, e.g. 0 to copy). */
  update(decay = this.decay): void {
    torch.noGrad(() => {
      for (const [, p, e] of this.#params) {
        if (p.dtype === 'float32') {
          e.mul_(decay).add_(p, 1 - decay);
        } else {
          const p32 = p.to('float32');
          e.mul_(decay).add_(p32, 1 - decay);
          p32.dispose();
        }
      }
    });
  }

  /** The averaged weights by state-dict name (live tensors: do not modify or dispose). */
  stateDict(): Map<string, Tensor> {
    return new Map(this.#state);
  }

  /** Restores an average saved from stateDict(); keys and shapes must match the model's. */
  loadStateDict(state: ReadonlyMap<string, Tensor>): void {
    const missing = [...this.#state.keys()].filter((k) => !state.has(k));
    const unexpected = [...state.keys()].filter((k) => !this.#state.has(k));
    if (missing.length || unexpected.length) {
      throw new Error(
        `EMA weights do not match the model: ${missing.length ? `missing ${missing.slice(0, 5).join(', ')}` : ''}${missing.length && unexpected.length ? '; ' : ''}${unexpected.length ? `unexpected ${unexpected.slice(0, 5).join(', ')}` : ''}`,
      );
    }
    torch.noGrad(() => {
      for (const [k, e] of this.#state) {
        const src = state.get(k)!;
        if (src.shape.join(',') !== e.shape.join(','))
          throw new Error(`EMA weight '${k}' has shape [${src.shape.join(', ')}], the model has [${e.shape.join(', ')}]`);
        checkStoredDType(`EMA weight '${k}'`, src.dtype, e.dtype);
        e.copy_(src);
      }
    });
  }

  /** Releases the averaged weights. */
  dispose(): void {
    for (const t of this.#state.values()) t.dispose();
    this.#state.clear();
  }

  /** Copies the model's persistent buffers into the average (after loading new model weights, say). */
  syncBuffers(): void {
    const params = new Set(this.#params.map(([n]) => n));
    torch.noGrad(() => {
      for (const [k, t] of this.#model.stateDict()) if (!params.has(k)) this.#state.get(k)?.copy_(t);
    });
  }
}
