/** A finished tiny REG training run on the built-in synthetic source, for tests that evaluate a checkpoint. */
import { DEFAULT_TRAIN_CONFIG, resolveTrainConfig } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';
import { TINY_TRAIN_CONFIG } from './tiny-train-config.js';

/**
 * Trains the tiny model of test/tiny-train-config.ts with 4 classes for 4 steps of 16 synthetic images
 * into `outputDir`, with one checkpoint at step 4 (EMA decay and threads at their defaults).
 */
export async function trainTinyRun(outputDir: string): Promise<void> {
  const config = resolveTrainConfig({
    ...TINY_TRAIN_CONFIG,
    numClasses: 4,
    batchSize: 16,
    checkpointingSteps: 4,
    emaDecay: DEFAULT_TRAIN_CONFIG.emaDecay,
    threads: DEFAULT_TRAIN_CONFIG.threads,
    outputDir,
  });
  await train(config, { log: () => undefined });
}
