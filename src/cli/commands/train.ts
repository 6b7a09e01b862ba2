/**
 * `reg train --config <file.json> [--key value …] [--resume]`: train SiT + REG.
 *
 * Configuration layers, later ones win: built-in defaults (the official code's), the config file
 * (presets in configs/), command-line options. With --resume and no --config, the run's own saved
 * configuration is the base, so `reg train --resume --output-dir runs/x` simply continues run x.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, overrideOptions, UsageError } from '../args.js';
import {
  ConfigError,
  DEFAULT_TRAIN_CONFIG,
  readConfigFile,
  resolveTrainConfig,
  TRAIN_CONFIG_KEYS,
  TRAIN_SETTINGS,
  type TrainConfig,
} from '../../train/config.js';
import { latestCheckpoint, resolveCheckpoint } from '../../models/checkpoint.js';
import { readTrainingConfig } from '../../train/checkpoint.js';
import { train } from '../../train/trainer.js';
import type { Device } from '../../torch/device.js';
import { registerDatasetSources } from '../../data/train-sources.js';
import { joinLaunchedRun } from '../launch-group.js';
import { writeCheckpointGrid } from '../../pipelines/checkpoint-grid.js';

/** configs/ of the installed package (presets can be named without a path: `--config cpu-tiny`). */
const PRESETS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../configs');

/** A config file path, or the name of a preset in configs/. */
export function findConfig(name: string): string {
  if (existsSync(name)) return name;
  for (const candidate of [path.join(PRESETS, name), path.join(PRESETS, `${name}.json`)]) if (existsSync(candidate)) return candidate;
  throw new ConfigError(`config file '${name}' not found (not a file, nor a preset in ${PRESETS})`);
}

/** Training settings naming files that a later command opens from the run's recorded config. */
const RECORDED_FILES = ['vae', 'encoderWeights'] as const;

/** The final configuration from parsed options (exported for tests). */
export function configFromArgs(options: Record<string, string | number | boolean | undefined>): {
  config: TrainConfig;
  resume: boolean | string;
} {
  const resume = typeof options.resumeFrom === 'string' ? options.resumeFrom : options.resume === true;
  const overrides: Record<string, unknown> = {};
  for (const k of TRAIN_CONFIG_KEYS) if (options[k] !== undefined) overrides[k] = options[k];
  // files that later commands read from the run's record (reg sample decodes with the recorded VAE)
  // are recorded as absolute paths, so the run still finds them from another working directory
  for (const k of RECORDED_FILES)
    if (typeof overrides[k] === 'string' && overrides[k] !== '') overrides[k] = path.resolve(overrides[k] as string);
  let base: TrainConfig = DEFAULT_TRAIN_CONFIG;
  let where = 'defaults';
  if (typeof options.config === 'string') {
    const file = findConfig(options.config);
    base = resolveTrainConfig(readConfigFile(file), file);
    where = file;
  } else if (resume) {
    const runDir = (overrides.outputDir as string | undefined) ?? DEFAULT_TRAIN_CONFIG.outputDir;
    const dir = typeof resume === 'string' ? resolveCheckpoint(resume) : latestCheckpoint(runDir);
    if (dir === null)
      throw new UsageError(`--resume: no checkpoint in ${path.join(runDir, 'checkpoints')} (give --output-dir of the run, or --config)`);
    base = resolveTrainConfig(readTrainingConfig(dir).train as unknown as Record<string, unknown>, `${dir}/config.json`);
    where = dir;
  }
  const config = resolveTrainConfig(overrides, `command line (over ${where})`, base);
  return { config, resume };
}

export const trainCommand: Command = {
  name: 'train',
  compute: true,
  summary: 'train a SiT + REG model (config file + overrides; --resume continues bit-exactly)',
  options: {
    config: { type: 'string', help: 'JSON config file, or a preset name from configs/ (cpu-tiny, sit-b2-imagenet256, …)' },
    resume: {
      type: 'boolean',
      help: 'continue the run in --output-dir from its latest checkpoint (its saved config is the base when --config is absent)',
    },
    resumeFrom: { type: 'string', help: 'continue from this checkpoint (or run) directory' },
    ...overrideOptions(TRAIN_SETTINGS),
  },
  async run(args) {
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument '${args.positionals[0]}' (options are --key value)`);
    let parsed: ReturnType<typeof configFromArgs>;
    try {
      parsed = configFromArgs(args.options);
    } catch (e) {
      if (e instanceof ConfigError) throw new UsageError(e.message);
      throw e;
    }
    const controller = new AbortController();
    let interrupts = 0;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (++interrupts > 1) process.exit(130);
      process.stderr.write(`\n${sig}: stopping after this step with a checkpoint (again to quit at once)\n`);
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const { group, device } = await joinLaunchedRun(parsed.config.device);
    try {
      registerDatasetSources();
      const result = await train(
        { ...parsed.config, device },
        {
          resume: parsed.resume,
          signal: controller.signal,
          // a fixed-seed sample grid of every checkpoint, for `reg serve` (<run>/samples/<step>.png)
          onCheckpoint: (dir) => writeCheckpointGrid(dir, { device: device as Device }),
          ...(group ? { group } : {}),
        },
      );
      if ((group?.rank ?? 0) === 0)
        process.stderr.write(
          `${result.reason === 'done' ? 'finished' : 'stopped'} at step ${result.step}${group ? ` (${group.worldSize} processes)` : ''}; metrics ${result.metricsFile}${result.checkpoint ? `; checkpoint ${result.checkpoint}` : ''}\n`,
        );
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await group?.destroy();
    }
  },
};
