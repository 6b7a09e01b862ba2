/** A finished tiny REG training run on the built-in synthetic source, for tests that evaluate a checkpoint. */
import { resolveTrainConfig } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';

/**
 * Trains SiT-T/2 cut to 2 blocks × 32 (aligned block 1, encoder width 16, 8×8×4 inputs, 4 classes) for
 * 4 steps of 16 synthetic images into `outputDir`, with one checkpoint at step 4.
 */
export async function trainTinyRun(outputDir: string): Promise<void> {
  const config = resolveTrainConfig({
    model: 'SiT-T/2',
    depth: 2,
    hiddenSize: 32,
    numHeads: 2,
    encoderDepth: 1,
    encoderDim: 16,
    projectorDim: 32,
    inputSize: 8,
    inChannels: 4,
    numClasses: 4,
    batchSize: 16,
    learningRate: 1e-3,
    maxTrainSteps: 4,
    checkpointingSteps: 4,
    progress: false,
    outputDir,
  });
  await train(config, { log: () => undefined });
}
