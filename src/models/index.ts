/**
 * Models: SiT with Representation Entanglement (REG) and its comparison variants, the name → config
 * registry, and checkpoint loading/saving (native directories, official `.pt`, safetensors).
 *
 *   import { createSiT, loadModel } from 'reg-ts/models';
 *   const model = createSiT('SiT-B/2');                      // fresh, official init
 *   const ema = loadModel('checkpoints/0400000.pt');          // official checkpoint, EMA weights, eval mode
 *   const { vImg, zs, vCls } = ema.forward(xT, t, y, clsT);
 */
export * from './configs.js';
export {
  SiT,
  SiTBlock,
  Attention,
  FinalLayer,
  Projector,
  PatchEmbed,
  TimestepEmbedder,
  LabelEmbedder,
  modulate,
  paramShapes,
  sincosPosEmbed2d,
  timestepEmbedding,
  type SiTOutput,
  type SiTForwardOptions,
  type SiTInitOptions,
  type LabelDropOptions,
} from './sit.js';
export * from './checkpoint.js';
export * from './pretrained.js';
export * from './autoencoders/index.js';
