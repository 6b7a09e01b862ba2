/**
 * The three ways AutoencoderKL weights are named on disk, and the map from reg-ts's (diffusers') key
 * names to each of them:
 *
 * - `diffusers`: diffusers' current names (`…mid_block.attentions.0.{to_q,to_k,to_v,to_out.0}`);
 * - `diffusers-legacy`: diffusers files of 2022 (`…mid_block.attentions.0.{query,key,value,proj_attn}`),
 *   which diffusers renames on load (`_convert_deprecated_attention_blocks`);
 * - `ldm`: the single-file CompVis/Stability checkpoint (`vae-ft-mse-840000-ema-pruned.{ckpt,safetensors}`):
 *   `encoder.down.{i}.block.{j}` (`nin_shortcut`), `down.{i}.downsample.conv`, `mid.block_{1,2}`,
 *   `mid.attn_1.{norm,q,k,v,proj_out}` (q/k/v/proj_out as 1×1 convolutions), `norm_out`, and decoder
 *   levels numbered from the bottom: diffusers `up_blocks.i` = LDM `up.{n−1−i}` (diffusers
 *   `convert_ldm_vae_checkpoint`).
 */

/** A naming of AutoencoderKL weights on disk. */
export type AutoencoderLayout = 'diffusers' | 'diffusers-legacy' | 'ldm';

/** How error messages name each layout. */
export const LAYOUT_DESCRIPTIONS: Readonly<Record<AutoencoderLayout, string>> = {
  diffusers: 'diffusers (attention to_q/to_k/to_v/to_out.0)',
  'diffusers-legacy': 'diffusers with legacy attention names (query/key/value/proj_attn)',
  ldm: 'single-file LDM checkpoint (encoder.down.i.block.j, mid.attn_1)',
};

const LEGACY_ATTENTION = /\.attentions\.0\.(query|key|value|proj_attn)\./;
const LDM_MARKERS = /^(encoder\.down\.|decoder\.up\.|(en|de)coder\.mid\.)/;

/** The layout whose names `keys` use: LDM when any LDM-only name occurs, else legacy diffusers when a legacy attention name does, else diffusers. */
export function guessLayout(keys: Iterable<string>): AutoencoderLayout {
  let legacy = false;
  for (const k of keys) {
    if (LDM_MARKERS.test(k)) return 'ldm';
    legacy ||= LEGACY_ATTENTION.test(k);
  }
  return legacy ? 'diffusers-legacy' : 'diffusers';
}

const LEGACY_NAMES: Record<string, string> = { to_q: 'query', to_k: 'key', to_v: 'value', 'to_out.0': 'proj_attn' };
const LDM_ATTENTION_NAMES: Record<string, string> = { group_norm: 'norm', to_q: 'q', to_k: 'k', to_v: 'v', 'to_out.0': 'proj_out' };

/** The LDM name of a diffusers key of a model with `levels` resolution levels. */
function ldmKey(key: string, levels: number): string {
  const up = (i: string): number => levels - 1 - Number(i);
  return key
    .replace(/^(encoder|decoder)\.mid_block\.resnets\.(\d+)\./, (_, part: string, j: string) => `${part}.mid.block_${Number(j) + 1}.`)
    .replace(
      /^(encoder|decoder)\.mid_block\.attentions\.0\.(group_norm|to_q|to_k|to_v|to_out\.0)\./,
      (_, part: string, name: string) => `${part}.mid.attn_1.${LDM_ATTENTION_NAMES[name]!}.`,
    )
    .replace(/^encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\./, 'encoder.down.$1.block.$2.')
    .replace(/^encoder\.down_blocks\.(\d+)\.downsamplers\.0\./, 'encoder.down.$1.downsample.')
    .replace(/^decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\./, (_, i: string, j: string) => `decoder.up.${up(i)}.block.${j}.`)
    .replace(/^decoder\.up_blocks\.(\d+)\.upsamplers\.0\./, (_, i: string) => `decoder.up.${up(i)}.upsample.`)
    .replace('.conv_shortcut.', '.nin_shortcut.')
    .replace(/^(encoder|decoder)\.conv_norm_out\./, '$1.norm_out.');
}

/**
 * The name under which a `layout` file stores reg-ts's (diffusers') key `key`, for a model with `levels`
 * resolution levels (only LDM decoder names depend on it).
 */
export function layoutKey(layout: AutoencoderLayout, key: string, levels: number): string {
  if (layout === 'diffusers') return key;
  if (layout === 'diffusers-legacy') {
    return key.replace(/\.attentions\.0\.(to_q|to_k|to_v|to_out\.0)\./, (_, name: string) => `.attentions.0.${LEGACY_NAMES[name]!}.`);
  }
  return ldmKey(key, levels);
}

/** Whether `key` (reg-ts's name) is an attention projection weight, which LDM files store as a 1×1 convolution (C, C, 1, 1). */
export function isAttentionProjection(key: string): boolean {
  return /\.mid_block\.attentions\.0\.(to_q|to_k|to_v|to_out\.0)\.weight$/.test(key);
}

/**
 * Prefixes of keys that single-file checkpoints carry besides the VAE and that loading ignores: LDM
 * autoencoder training checkpoints hold the LPIPS/discriminator loss under `loss.` and flattened EMA
 * copies under `model_ema.`.
 */
export const IGNORED_PREFIXES = ['loss.', 'model_ema.'] as const;

/** Prefix of the VAE in a whole Stable Diffusion checkpoint (its other keys are the UNet and the text encoder). */
export const SD_CHECKPOINT_VAE_PREFIX = 'first_stage_model.';
