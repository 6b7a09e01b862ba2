/**
 * Training: the loop (`train`), its configuration, AdamW, gradient clipping, EMA, learning-rate
 * schedules, checkpoints and batch sources. See docs/training.md.
 */
export { train, hasCheckpoints, type TrainOptions, type TrainResult } from './trainer.js';
export { NonFiniteLossError } from './step.js';
export { ResumeError } from './resume.js';
export { DEFAULT_TRAIN_CONFIG, resolveTrainConfig, readConfigFile, modelConfigOf, ConfigError, type TrainConfig } from './config.js';
export { registerSource, createSource, type BatchSource, type TrainBatch, type SourceContext } from './data.js';
