/**
 * The random inputs of one micro-batch of the REG objective, drawn per sample (./sample-random.ts) so
 * that the loss curve does not depend on the number of processes or micro-batches. Sample n of a run —
 * n = step·B + position in the step's global batch of B — draws, in this order:
 *
 *   u ~ U[0,1)        label dropout: the label becomes the null class when u < p
 *   t                 from the time distribution (--weighting)
 *   ε  (C, H, W)      latent noise
 *   ε_c (Dz)          class-token noise (variants with a class token)
 *
 * Micro-batch m of rank r holds the positions m·B/A + r, m·B/A + r + W, … (util/shard.ts).
 */
import * as torch from '../torch/index.js';
import type { Device, Tensor } from '../torch/index.js';
import { sampleTime, type TimeSampling } from '../diffusion/time.js';
import type { PathType } from '../diffusion/interpolants.js';
import { shardPositions } from '../util/shard.js';
import { drawPerSample } from './sample-random.js';

/** Stream number of the objective's per-sample draws in mixSeed. */
const OBJECTIVE_STREAM = 0x7a1e;

/** Where a micro-batch sits in the run: which samples of which step it holds. */
export interface MicroBatchPlace {
  step: number;
  batchSize: number;
  accumulation: number;
  micro: number;
  rank: number;
  worldSize: number;
}

/** The run-wide sample numbers of a micro-batch's rows. */
export function sampleKeys(p: MicroBatchPlace): number[] {
  const perMicro = p.batchSize / p.accumulation;
  const base = p.step * p.batchSize + p.micro * perMicro;
  return shardPositions(perMicro, p.rank, p.worldSize).map((k) => base + k);
}

/** What {@link stepNoise} draws for the objective. */
export interface StepNoise {
  dropMask?: Tensor;
  t: Tensor;
  noise: Tensor;
  noiseCls?: Tensor;
}

/** Options of {@link stepNoise}. */
export interface StepNoiseOptions {
  seed: number;
  timeSampling: TimeSampling;
  path: PathType;
  labelDropout: number;
  /** One sample's latent shape (C, H, W). */
  sampleShape: readonly number[];
  /** Class-token width, or null for variants without the token. */
  clsDim: number | null;
  device: Device;
}

/** The per-sample draws for the rows `keys` (see the file comment), on `device`. */
export function stepNoise(keys: readonly number[], o: StepNoiseOptions): StepNoise {
  return torch.scope(() => {
    const drawn: Record<string, Tensor> = drawPerSample(o.seed, OBJECTIVE_STREAM, keys, (generator) => {
      const draws: Record<string, Tensor> = {
        u: torch.rand([1], { generator }),
        t: sampleTime(o.timeSampling, 1, { path: o.path, generator }),
        noise: torch.randn([1, ...o.sampleShape], { generator }),
      };
      if (o.clsDim !== null) draws.noiseCls = torch.randn([1, o.clsDim], { generator });
      return draws;
    });
    const on = (x: Tensor): Tensor => (o.device === 'cpu' ? x : x.to({ device: o.device }));
    return {
      ...(o.labelDropout > 0 ? { dropMask: on(drawn.u!.lt(o.labelDropout)) } : {}),
      t: on(drawn.t!),
      noise: on(drawn.noise!),
      ...(drawn.noiseCls ? { noiseCls: on(drawn.noiseCls) } : {}),
    };
  });
}
