/**
 * The settings of a tiny REG training run on synthetic data (2 blocks × 32, 8×8×4 inputs, 5 classes,
 * checkpoints every 2 steps), as `reg train --config` reads them: a step takes milliseconds. For tests
 * that need a run directory with several checkpoints (sample grids, the dashboard).
 */
export const TINY_TRAIN_CONFIG = {
  model: 'SiT-T/2',
  depth: 2,
  hiddenSize: 32,
  numHeads: 2,
  encoderDepth: 1,
  encoderDim: 16,
  projectorDim: 32,
  inputSize: 8,
  inChannels: 4,
  numClasses: 5,
  data: 'synthetic',
  batchSize: 8,
  learningRate: 1e-3,
  emaDecay: 0.9,
  maxTrainSteps: 4,
  checkpointingSteps: 2,
  threads: 1,
  progress: false,
} as const;
