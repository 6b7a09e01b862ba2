/**
 * The paper's comparison variants and what each one has: the one place that decides whether a model
 * carries the extra token, the REPA alignment, and the class-token input and head. The model, the
 * objective, the samplers and the training data all ask here.
 *
 * | variant     | extra token | alignment projector | outputs            |
 * |-------------|-------------|---------------------|--------------------|
 * | `reg`       | yes         | yes                 | vImg, zs, vCls     |
 * | `repa`      | no          | yes                 | vImg, zs           |
 * | `sit`       | no          | no                  | vImg               |
 * | `entangle`  | yes         | no                  | vImg, vCls         |
 *
 * With entangledSignal `learnable` the extra token is a parameter: no class-token input, no `vCls`.
 */

/** The paper's comparison variants, as options of one model (table above). */
export type SiTVariant = 'reg' | 'repa' | 'sit' | 'entangle';

/** Every variant name. */
export const SIT_VARIANTS: readonly SiTVariant[] = ['reg', 'repa', 'sit', 'entangle'];

/**
 * What the extra token carries (paper Table 5). `cls` (the encoder's class token, REG) and `patch-mean`
 * (the mean of the encoder's patch tokens) differ only in the data fed to `clsT`: the model is the same
 * (input path `cls_projectors2` → `wg_norm`, head `final_layer.linear_cls`, all of width `zDims[0]`).
 * `learnable` replaces that input path by one learnable token `learnable_token` (1, 1, D) and has no
 * class-token head (`vCls` is null): only the latent velocity is predicted ("OLT", paper App. A).
 */
export type EntangledSignal = 'cls' | 'patch-mean' | 'learnable';

/** Every entangled-signal name. */
export const ENTANGLED_SIGNALS: readonly EntangledSignal[] = ['cls', 'patch-mean', 'learnable'];

/** The two settings that decide a model's variant; `variant` defaults to 'reg', `entangledSignal` to 'cls'. */
export interface VariantSettings {
  readonly variant?: SiTVariant | undefined;
  readonly entangledSignal?: EntangledSignal | undefined;
}

/** True for variants that prepend the extra token at position 0 ('reg', 'entangle'). */
export function hasToken(c: VariantSettings): boolean {
  const v = c.variant ?? 'reg';
  return v === 'reg' || v === 'entangle';
}

/** True for variants with the REPA alignment projectors and loss ('reg', 'repa'). */
export function hasAlign(c: VariantSettings): boolean {
  const v = c.variant ?? 'reg';
  return v === 'reg' || v === 'repa';
}

/**
 * True when the extra token comes from the `clsT` input (the noised encoder signal) and the model
 * predicts its velocity: the token variants, unless the token is a learnable parameter.
 */
export function hasClsInput(c: VariantSettings): boolean {
  return hasToken(c) && c.entangledSignal !== 'learnable';
}
