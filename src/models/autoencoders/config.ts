/**
 * The shape of an AutoencoderKL (diffusers' `AutoencoderKL` constructor arguments that reg-ts supports),
 * the SD-VAE preset, and the conversion from and to diffusers' `config.json`.
 */

import { settingProblem, type Setting, type SettingTable } from '../../util/settings.js';

/** Settings of an {@link AutoencoderKL}: the diffusers config fields, camel-cased. */
export interface AutoencoderKLConfig {
  /** Image channels in (`in_channels`). */
  inChannels: number;
  /** Image channels out (`out_channels`). */
  outChannels: number;
  /** Channels of the latent z (`latent_channels`); the encoder emits 2× (mean and log-variance). */
  latentChannels: number;
  /** Width of each resolution level (`block_out_channels`); each level but the last halves H and W. */
  blockOutChannels: number[];
  /** ResnetBlock2Ds per encoder level (`layers_per_block`); decoder levels have one more. */
  layersPerBlock: number;
  /** Groups of every GroupNorm (`norm_num_groups`). */
  normNumGroups: number;
  /** Latent scale s of the diffusion model's space: z_model = (z − shift)·s (`scaling_factor`). */
  scalingFactor: number;
  /** Latent shift (`shift_factor`; 0 for SD-VAE). */
  shiftFactor: number;
  /** Image side the VAE was trained at (`sample_size`; informative). */
  sampleSize: number;
}

/** stabilityai/sd-vae-ft-ema and sd-vae-ft-mse (the VAE of REPA/REG): 83,653,863 parameters. */
export const SD_VAE_CONFIG: Readonly<AutoencoderKLConfig> = Object.freeze({
  inChannels: 3,
  outChannels: 3,
  latentChannels: 4,
  blockOutChannels: [128, 256, 512, 512],
  layersPerBlock: 2,
  normNumGroups: 32,
  scalingFactor: 0.18215,
  shiftFactor: 0,
  sampleSize: 256,
});

/** Latent scale of SD-VAE, also the default of files that do not state one (old diffusers configs, LDM checkpoints). */
export const SD_VAE_SCALING_FACTOR = 0.18215;

/** A config (or config.json) that reg-ts's AutoencoderKL cannot represent. */
export class AutoencoderConfigError extends Error {
  override name = 'AutoencoderConfigError';
}

/**
 * The range of every size field of an AutoencoderKL config, declared once as settings
 * (src/util/settings.ts), so that a stored config (`layers_per_block: 1e9`) is refused by name before
 * anything is built from it.
 */
export const AUTOENCODER_CONFIG_RANGES = {
  inChannels: { type: 'integer', min: 1, max: 64, help: 'image channels in' },
  outChannels: { type: 'integer', min: 1, max: 64, help: 'image channels out' },
  latentChannels: { type: 'integer', min: 1, max: 64, help: 'latent channels' },
  layersPerBlock: { type: 'integer', min: 1, max: 64, help: 'ResnetBlock2Ds per encoder level' },
  normNumGroups: { type: 'integer', min: 1, max: 1024, help: 'GroupNorm groups' },
  sampleSize: { type: 'integer', min: 1, max: 65536, help: 'image side the VAE was trained at' },
} as const satisfies SettingTable;

/** Each width of blockOutChannels. */
const BLOCK_WIDTH = { type: 'integer', min: 1, max: 16384, help: 'width of a resolution level' } as const satisfies Setting;

/** Most resolution levels (blockOutChannels entries): 2⁹ downsampling is beyond any image size. */
export const MAX_AUTOENCODER_LEVELS = 10;

/** Throws AutoencoderConfigError unless every field is usable (sizes in range, channels divisible by the groups). */
export function checkAutoencoderConfig(c: AutoencoderKLConfig, what = 'autoencoder config'): void {
  const bad = (msg: string): never => {
    throw new AutoencoderConfigError(`${what}: ${msg}`);
  };
  for (const [k, s] of Object.entries(AUTOENCODER_CONFIG_RANGES) as [keyof typeof AUTOENCODER_CONFIG_RANGES, Setting][]) {
    const problem = settingProblem(s, c[k]);
    if (problem !== null) bad(`${k} must be ${problem}, got ${String(c[k])}`);
  }
  const levels = c.blockOutChannels;
  if (
    !Array.isArray(levels) ||
    levels.length === 0 ||
    levels.length > MAX_AUTOENCODER_LEVELS ||
    !levels.every((w) => settingProblem(BLOCK_WIDTH, w) === null)
  ) {
    const shown = Array.isArray(levels) && levels.length > MAX_AUTOENCODER_LEVELS ? `a list of ${levels.length}` : JSON.stringify(levels);
    bad(
      `blockOutChannels must be a non-empty list of positive integers (at most ${MAX_AUTOENCODER_LEVELS}, each in [1, ${BLOCK_WIDTH.max}]), got ${shown}`,
    );
  }
  const indivisible = c.blockOutChannels.find((ch) => ch % c.normNumGroups !== 0);
  if (indivisible !== undefined) bad(`normNumGroups ${c.normNumGroups} does not divide the block width ${indivisible}`);
  if (!Number.isFinite(c.scalingFactor) || c.scalingFactor === 0) bad(`scalingFactor must be a non-zero number, got ${c.scalingFactor}`);
  if (!Number.isFinite(c.shiftFactor)) bad(`shiftFactor must be a number, got ${c.shiftFactor}`);
}

/** What a diffusers AutoencoderKL config.json may contain (the fields reg-ts reads or checks). */
type DiffusersConfig = Record<string, unknown>;

/** Values of diffusers fields that reg-ts's architecture fixes; a config.json with another value is refused. */
const FIXED_FIELDS: Record<string, (v: unknown) => boolean> = {
  _class_name: (v) => v === 'AutoencoderKL',
  act_fn: (v) => v === 'silu',
  down_block_types: (v) => Array.isArray(v) && v.every((t) => t === 'DownEncoderBlock2D'),
  up_block_types: (v) => Array.isArray(v) && v.every((t) => t === 'UpDecoderBlock2D'),
  use_quant_conv: (v) => v === true,
  use_post_quant_conv: (v) => v === true,
  mid_block_add_attention: (v) => v === true,
};

/**
 * The config of a diffusers `config.json` (AutoencoderKL). Absent fields take diffusers' defaults, except
 * `scaling_factor` (0.18215, SD-VAE's, absent from diffusers 0.4-era files) and `sample_size` (256).
 * Throws AutoencoderConfigError for settings the architecture does not have (another block type, act_fn, …).
 */
export function configFromDiffusers(json: DiffusersConfig, what = 'config.json'): AutoencoderKLConfig {
  for (const [k, ok] of Object.entries(FIXED_FIELDS)) {
    if (json[k] !== undefined && json[k] !== null && !ok(json[k])) {
      throw new AutoencoderConfigError(
        `${what}: ${k} = ${JSON.stringify(json[k])} is not supported (reg-ts implements AutoencoderKL with DownEncoderBlock2D/UpDecoderBlock2D, SiLU, quant convs and mid-block attention)`,
      );
    }
  }
  const num = (k: string, fallback: number): number => (typeof json[k] === 'number' ? (json[k] as number) : fallback);
  const blocks = Array.isArray(json.block_out_channels) ? (json.block_out_channels as number[]) : [64];
  const config: AutoencoderKLConfig = {
    inChannels: num('in_channels', 3),
    outChannels: num('out_channels', 3),
    latentChannels: num('latent_channels', 4),
    blockOutChannels: [...blocks],
    layersPerBlock: num('layers_per_block', 1),
    normNumGroups: num('norm_num_groups', 32),
    scalingFactor: num('scaling_factor', SD_VAE_SCALING_FACTOR),
    shiftFactor: num('shift_factor', 0),
    sampleSize: num('sample_size', 256),
  };
  for (const k of ['down_block_types', 'up_block_types']) {
    const types = json[k];
    if (Array.isArray(types) && types.length !== blocks.length) {
      throw new AutoencoderConfigError(`${what}: ${k} has ${types.length} entries but block_out_channels ${blocks.length}`);
    }
  }
  checkAutoencoderConfig(config, what);
  return config;
}

/** The diffusers `config.json` of a config (AutoencoderKL, loadable by `AutoencoderKL.from_pretrained`). */
export function configToDiffusers(c: AutoencoderKLConfig): DiffusersConfig {
  return {
    _class_name: 'AutoencoderKL',
    in_channels: c.inChannels,
    out_channels: c.outChannels,
    down_block_types: c.blockOutChannels.map(() => 'DownEncoderBlock2D'),
    up_block_types: c.blockOutChannels.map(() => 'UpDecoderBlock2D'),
    block_out_channels: [...c.blockOutChannels],
    layers_per_block: c.layersPerBlock,
    act_fn: 'silu',
    latent_channels: c.latentChannels,
    norm_num_groups: c.normNumGroups,
    sample_size: c.sampleSize,
    scaling_factor: c.scalingFactor,
    shift_factor: c.shiftFactor,
    force_upcast: true,
    use_quant_conv: true,
    use_post_quant_conv: true,
    mid_block_add_attention: true,
  };
}

/** Spatial reduction f = 2^(levels − 1) of an autoencoder config (8 for SD-VAE: 256 px ↔ 32×32 latents). */
export function downsampleFactorOf(c: Pick<AutoencoderKLConfig, 'blockOutChannels'>): number {
  return 2 ** (c.blockOutChannels.length - 1);
}
