/**
 * Samplers for SiT / REPA / REG velocity models (docs/method.md#sampling), integrating the image latent and — for
 * token variants — the class token jointly, from t = 1 (noise) to t = 0 (data).
 *
 * Conventions (those of the official Martinser/REG and sihyun-yu/REPA `samplers.py`):
 *  - the state (latent x and class token c) is kept in float64; the network gets the state and the
 *    time cast to its dtype (float32 usually) and its outputs are cast back to float64;
 *  - classifier-free guidance doubles the batch as [cond; uncond] — inputs [x; x], [c; c], labels
 *    [y; null] with null = numClasses — in ONE network call, and combines d = d_u + w·(d_c − d_u) on
 *    every latent channel. The class token uses its own scale w_cls when w_cls > 0, else its
 *    conditional drift. A step is guided iff w > 1 and low ≤ t_cur ≤ high (Heun's second evaluation
 *    uses the flag of t_cur); outside, one conditional pass and no guidance for either stream.
 *
 * SDE (Euler–Maruyama, the official sampler):
 *   t = linspace(1, 0.04, N) ++ [0];  w(t) = 2t;  score s = (r·v − x)/(σ² − r·σ̇·σ), r = α/α̇;
 *   drift d = v − ½·w(t)·s (guided per stream);
 *   steps 0..N−2: x ← x + d·dt + √w(t_cur)·(ξ·√|dt|), ξ ~ N(0, I) float64, independent for x and c;
 *   last step (0.04 → 0): x ← x + dt·d, no noise.
 * ODE (REPA's euler_sampler, which REG removed), drift d = v (guided):
 *   t = linspace(1, 0, N+1);  Euler x ← x + dt·d;  Heun x' = x + dt·d₁, x ← x + dt·(½d₁ + ½d₂(x', t_next))
 *   except the final step to t = 0, which is plain Euler.
 */
import * as torch from '../torch/index.js';
import type { DType, Tensor } from '../torch/index.js';
import { diffusionCoefficient, type PathType, scoreFromVelocity } from './interpolants.js';
import { hasClsInput } from '../models/variant.js';
import { classTokenDim, modelPlacement, type VelocityModel } from './model.js';

/** The integrators. */
export type SamplerKind = 'sde' | 'euler' | 'heun';

/** Every sampler, for validation and `--help`. */
export const SAMPLERS: readonly SamplerKind[] = ['sde', 'euler', 'heun'];

/** Classifier-free guidance settings. */
export interface GuidanceOptions {
  /** Guidance scale w of the latent (default 1 = no guidance; guidance needs w > 1). */
  cfgScale?: number;
  /**
   * Guidance scale of the class token on guided steps: > 0 guides it with this scale, 0 uses its
   * conditional drift (official behaviour). Default: equal to `cfgScale` (as eval.sh's 2.3 / 2.3).
   */
  clsCfgScale?: number;
  /** Guidance interval [low, high] on t_cur (default [0, 1]; the paper's REG numbers use [0, 0.85]). */
  guidanceLow?: number;
  guidanceHigh?: number;
  /** The unconditional label (default: the model's numClasses). */
  nullLabel?: number;
}

/** How the network is run. */
export interface NetworkOptions {
  /** dtype the state and time are cast to for the network (default: the model's parameter dtype). */
  dtype?: DType;
  /** Run the network under autocast with this dtype (e.g. 'bfloat16' on a GPU); default off. */
  amp?: 'bfloat16' | 'float16' | null;
}

/** The sampler state: latent (B, C, H, W) and class token (B, Dz) or null, both float64. */
export interface SamplerState {
  x: Tensor;
  c: Tensor | null;
}

/**
 * SDE step noise: for step i (0 ≤ i < N−1) two float64 tensors shaped like the un-doubled state
 * (null for c when the model has no token), on the state's device. Ownership passes to the sampler.
 */
export type StepNoise = (step: number, x: Tensor, c: Tensor | null) => SamplerState;

/** What one step did, for tests and diagnostics (tensors are valid only during the callback). */
export interface StepInfo extends StepResult {
  step: number;
  tCur: number;
  tNext: number;
}

/** Options of {@link sample}. */
export interface SampleOptions extends GuidanceOptions, NetworkOptions {
  sampler: SamplerKind;
  /** Number of steps N ≥ 1. */
  numSteps: number;
  /** Interpolant used for the score (default 'linear'). */
  path?: PathType;
  /** Called after every step. */
  onStep?: (info: StepInfo) => void;
}

/** Result of {@link sample}: final float64 state and the network evaluations spent (batch rows). */
export interface SampleResult extends SamplerState {
  /** Network evaluations per sample (a guided pass counts twice). */
  nfe: number;
}

/** Time grid of the SDE sampler: linspace(1, 0.04, N) in float64, then 0 (N + 1 points). */
export function sdeTimeGrid(numSteps: number): number[] {
  checkSteps(numSteps);
  return [...torch.scope(() => torch.linspace(1, 0.04, numSteps, { dtype: 'float64' }).toArray()), 0];
}

/** Time grid of the ODE samplers: linspace(1, 0, N + 1) in float64. */
export function odeTimeGrid(numSteps: number): number[] {
  checkSteps(numSteps);
  return torch.scope(() => torch.linspace(1, 0, numSteps + 1, { dtype: 'float64' }).toArray());
}

function checkSteps(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`number of sampling steps must be a positive integer, got ${n}`);
}

/** Resolved guidance settings. */
interface Guidance {
  cfgScale: number;
  clsCfgScale: number;
  low: number;
  high: number;
  nullLabel: number;
}

/** Validates guidance options (throws RangeError with a clear message). */
export function resolveGuidance(model: VelocityModel, g: GuidanceOptions): Guidance {
  const cfgScale = g.cfgScale ?? 1;
  const clsCfgScale = g.clsCfgScale ?? cfgScale;
  const low = g.guidanceLow ?? 0;
  const high = g.guidanceHigh ?? 1;
  const nullLabel = g.nullLabel ?? model.config.numClasses;
  if (!Number.isFinite(cfgScale) || cfgScale < 0) throw new RangeError(`cfg scale must be a finite number ≥ 0, got ${cfgScale}`);
  if (!Number.isFinite(clsCfgScale) || clsCfgScale < 0)
    throw new RangeError(`class-token cfg scale must be a finite number ≥ 0, got ${clsCfgScale}`);
  if (!(low >= 0 && low <= 1 && high >= 0 && high <= 1)) throw new RangeError(`guidance interval [${low}, ${high}] must lie inside [0, 1]`);
  if (low > high) throw new RangeError(`guidance interval: low (${low}) is greater than high (${high})`);
  if (!Number.isInteger(nullLabel) || nullLabel < 0) throw new RangeError(`null label must be a non-negative integer, got ${nullLabel}`);
  return { cfgScale, clsCfgScale, low, high, nullLabel };
}

/** Whether a step starting at `tCur` is guided: w > 1 and low ≤ t_cur ≤ high. */
export function isGuided(tCur: number, g: { cfgScale: number; low: number; high: number }): boolean {
  return g.cfgScale > 1 && g.low <= tCur && tCur <= g.high;
}

/** Network context shared by the steps of one run. */
interface Net {
  model: VelocityModel;
  dtype: DType;
  amp: 'bfloat16' | 'float16' | null;
  guidance: Guidance;
  path: PathType;
  token: boolean;
}

function makeNet(model: VelocityModel, opts: GuidanceOptions & NetworkOptions & { path?: PathType }): Net {
  return {
    model,
    dtype: opts.dtype ?? modelPlacement(model).dtype,
    amp: opts.amp ?? null,
    guidance: resolveGuidance(model, opts),
    path: opts.path ?? 'linear',
    token: hasClsInput(model.config),
  };
}

/** One (possibly batch-doubled) network call; returns the float64 inputs and outputs. */
function evaluate(net: Net, x: Tensor, c: Tensor | null, y: Tensor, tCur: number, guided: boolean) {
  const xin = guided ? torch.cat([x, x], 0) : x;
  const cin = c === null ? null : guided ? torch.cat([c, c], 0) : c;
  const yin = guided ? torch.cat([y, torch.fullLike(y, net.guidance.nullLabel)], 0) : y;
  const n = xin.shape[0]!;
  const tvec = torch.full([n], tCur, { dtype: net.dtype, device: x.device });
  // the projector MLPs only serve the alignment loss: sampling skips them (the official sampler runs them)
  const call = () => net.model.forward(xin.to(net.dtype), tvec, yin, cin === null ? null : cin.to(net.dtype), { projections: false });
  const out = net.amp ? torch.autocast(call, { device: x.device, dtype: net.amp }) : call();
  if (net.token && !out.vCls) throw new TypeError('the model has a class token but returned no class-token velocity');
  const v = out.vImg.to('float64');
  const vc = net.token && out.vCls ? out.vCls.to('float64') : null;
  return { xin, cin, v, vc };
}

/** d_u + w·(d_c − d_u) over a [cond; uncond] batch. */
function guide(d: Tensor, scale: number): Tensor {
  const [cond, unc] = d.chunk(2, 0) as [Tensor, Tensor];
  return unc.add(cond.sub(unc).mul(scale));
}

/** Class-token guidance: own scale when > 0, else the conditional half. */
function guideCls(d: Tensor, scale: number): Tensor {
  const [cond, unc] = d.chunk(2, 0) as [Tensor, Tensor];
  return scale > 0 ? unc.add(cond.sub(unc).mul(scale)) : cond.clone();
}

/** SDE drift v − ½·w(t)·s(v, x, t) per stream, guided. */
function sdeDrift(net: Net, x: Tensor, c: Tensor | null, y: Tensor, tCur: number, guided: boolean) {
  const { xin, cin, v, vc } = evaluate(net, x, c, y, tCur, guided);
  const half = 0.5 * diffusionCoefficient(tCur);
  let d = v.sub(scoreFromVelocity(net.path, v, xin, tCur).mul(half));
  let dc = vc === null ? null : vc.sub(scoreFromVelocity(net.path, vc, cin!, tCur).mul(half));
  if (guided) {
    d = guide(d, net.guidance.cfgScale);
    dc = dc === null ? null : guideCls(dc, net.guidance.clsCfgScale);
  }
  return { d, dc, v, vc };
}

/** ODE drift = guided velocity. */
function odeDrift(net: Net, x: Tensor, c: Tensor | null, y: Tensor, t: number, guided: boolean) {
  const { v, vc } = evaluate(net, x, c, y, t, guided);
  if (!guided) return { d: v, dc: vc, v, vc };
  return { d: guide(v, net.guidance.cfgScale), dc: vc === null ? null : guideCls(vc, net.guidance.clsCfgScale), v, vc };
}

/** Options of a single step. */
export interface StepOptions extends GuidanceOptions, NetworkOptions {
  path?: PathType;
}

/** Result of a single step (float64). */
export interface StepResult {
  guided: boolean;
  /** State after the step. */
  x: Tensor;
  c: Tensor | null;
  /** The (guided) drift of the first evaluation. */
  driftX: Tensor;
  driftC: Tensor | null;
  /** Raw network outputs of the first evaluation (float64; 2B rows [cond; uncond] when guided). */
  v: Tensor;
  vCls: Tensor | null;
  /** Heun's second (guided) drift, when a correction was applied. */
  drift2X?: Tensor;
  drift2C?: Tensor | null;
}

/**
 * One Euler–Maruyama step from t_cur to t_next (state float64). `noise` null (or `last`) makes the
 * step deterministic, as the official final step.
 */
export function sdeStep(
  model: VelocityModel,
  state: SamplerState,
  y: Tensor,
  tCur: number,
  tNext: number,
  noise: SamplerState | null,
  opts: StepOptions & { last?: boolean } = {},
): StepResult {
  const net = makeNet(model, opts);
  return torch.noGrad(() => torch.scope(() => sdeStepWith(net, state, y, tCur, tNext, opts.last ? null : noise)));
}

function sdeStepWith(net: Net, state: SamplerState, y: Tensor, tCur: number, tNext: number, noise: SamplerState | null): StepResult {
  const guided = isGuided(tCur, net.guidance);
  const { d, dc, v, vc } = sdeDrift(net, state.x, state.c, y, tCur, guided);
  const dt = tNext - tCur;
  let x: Tensor;
  let c: Tensor | null;
  if (noise === null) {
    x = state.x.add(d.mul(dt));
    c = state.c === null ? null : state.c.add(dc!.mul(dt));
  } else {
    const sw = Math.sqrt(diffusionCoefficient(tCur));
    const sdt = Math.sqrt(Math.abs(dt));
    x = state.x.add(d.mul(dt)).add(noise.x.mul(sdt).mul(sw));
    if (state.c === null) c = null;
    else {
      if (!noise.c) throw new TypeError('SDE step: the class token needs its own noise');
      c = state.c.add(dc!.mul(dt)).add(noise.c.mul(sdt).mul(sw));
    }
  }
  return { x, c, driftX: d, driftC: dc, v, vCls: vc, guided };
}

/**
 * One ODE step (Euler, or Heun unless `final`) from t_cur to t_next.
 */
export function odeStep(
  model: VelocityModel,
  state: SamplerState,
  y: Tensor,
  tCur: number,
  tNext: number,
  opts: StepOptions & { heun?: boolean; final?: boolean } = {},
): StepResult {
  const net = makeNet(model, opts);
  return torch.noGrad(() => torch.scope(() => odeStepWith(net, state, y, tCur, tNext, Boolean(opts.heun) && !opts.final)));
}

function odeStepWith(net: Net, state: SamplerState, y: Tensor, tCur: number, tNext: number, heun: boolean): StepResult {
  const guided = isGuided(tCur, net.guidance);
  const { d, dc, v, vc } = odeDrift(net, state.x, state.c, y, tCur, guided);
  const dt = tNext - tCur;
  const x1 = state.x.add(d.mul(dt));
  const c1 = state.c === null ? null : state.c.add(dc!.mul(dt));
  if (!heun) return { x: x1, c: c1, driftX: d, driftC: dc, v, vCls: vc, guided };
  const second = odeDrift(net, x1, c1, y, tNext, guided);
  const avg = (a: Tensor, b: Tensor) => a.mul(0.5).add(b.mul(0.5));
  const x = state.x.add(avg(d, second.d).mul(dt));
  const c = state.c === null ? null : state.c.add(avg(dc!, second.dc!).mul(dt));
  return { x, c, driftX: d, driftC: dc, v, vCls: vc, guided, drift2X: second.d, drift2C: second.dc };
}

/**
 * Runs a sampler from the initial state (x_T, c_T) — cast to float64 — with labels y (B,) int64.
 * The SDE sampler needs `noise` for its N−1 stochastic steps. Returns the final float64 state.
 */
export function sample(
  model: VelocityModel,
  init: { x: Tensor; c?: Tensor | null },
  y: Tensor,
  opts: SampleOptions,
  noise?: StepNoise,
): SampleResult {
  const net = makeNet(model, opts);
  const kind = opts.sampler;
  if (!SAMPLERS.includes(kind)) throw new TypeError(`unknown sampler '${String(kind)}' (expected ${SAMPLERS.join(', ')})`);
  const ts = kind === 'sde' ? sdeTimeGrid(opts.numSteps) : odeTimeGrid(opts.numSteps);
  const N = opts.numSteps;
  const B = init.x.shape[0]!;
  if (y.ndim !== 1 || y.shape[0] !== B) throw new RangeError(`labels must have shape [${B}], got [${y.shape.join(', ')}]`);
  if (net.token) {
    const dz = classTokenDim(model.config);
    if (!init.c) throw new TypeError('this model generates a class token: give its initial noise c_T (B, Dz)');
    if (init.c.ndim !== 2 || init.c.shape[0] !== B || init.c.shape[1] !== dz)
      throw new RangeError(`c_T must have shape [${B}, ${dz}], got [${init.c.shape.join(', ')}]`);
  }
  if (kind === 'sde' && N > 1 && !noise) throw new TypeError('the SDE sampler needs a noise source');

  return torch.noGrad(() => {
    let x = init.x.to('float64');
    let c = net.token ? init.c!.to('float64') : null;
    let nfe = 0;
    for (let i = 0; i < N; i++) {
      const tCur = ts[i]!;
      const tNext = ts[i + 1]!;
      const next = torch.scope(() => {
        let r: StepResult;
        if (kind === 'sde') {
          const last = i === N - 1;
          const nz = last ? null : noise!(i, x, c);
          r = sdeStepWith(net, { x, c }, y, tCur, tNext, nz);
          if (nz) {
            nz.x.dispose();
            nz.c?.dispose();
          }
        } else {
          r = odeStepWith(net, { x, c }, y, tCur, tNext, kind === 'heun' && i < N - 1);
        }
        if (opts.onStep) opts.onStep({ step: i, tCur, tNext, ...r });
        return { x: r.x, c: r.c, guided: r.guided, heun: r.drift2X !== undefined };
      });
      nfe += (next.guided ? 2 : 1) * (next.heun ? 2 : 1);
      x.dispose();
      c?.dispose();
      x = next.x;
      c = next.c;
    }
    return { x, c, nfe };
  });
}
