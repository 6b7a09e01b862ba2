/**
 * reg-ts: REG (Representation Entanglement for Generation) in TypeScript on libtorch.
 *
 *   import { torch, models, diffusion, train, pipelines } from 'reg-ts';
 *
 * Each area is also importable on its own: 'reg-ts/torch', 'reg-ts/nn', 'reg-ts/models',
 * 'reg-ts/encoders', 'reg-ts/diffusion', 'reg-ts/data', 'reg-ts/train', 'reg-ts/eval', 'reg-ts/pipelines'.
 */
export * as torch from './torch/index.js';
export * as nn from './nn/index.js';
export * as models from './models/index.js';
export * as encoders from './models/encoders/index.js';
export * as diffusion from './diffusion/index.js';
export * as data from './data/index.js';
export * as train from './train/index.js';
export * as evaluation from './eval/index.js';
export * as pipelines from './pipelines/index.js';
