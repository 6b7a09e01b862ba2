/** Building blocks of networks: Module with PyTorch-compatible state dicts, layers, initialisers. */
export { Module, type LoadReport } from './module.js';
export { Linear, LayerNorm, Embedding, Conv2d } from './layers.js';
export * as init from './init.js';
