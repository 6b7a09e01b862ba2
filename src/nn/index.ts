/** Building blocks of networks: Module with PyTorch-compatible state dicts, layers, initialisers. */
export { Module, type LoadReport } from './module.js';
export { ModuleList } from './module-list.js';
export { Linear, LayerNorm, GroupNorm, Embedding, Conv2d, BatchNorm2d, Mlp, type Conv2dLayerOptions } from './layers.js';
export { BatchNorm1d, type BatchNorm1dOptions } from './batch-norm-1d.js';
export * as init from './init.js';
