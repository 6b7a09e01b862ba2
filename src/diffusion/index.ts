/**
 * Diffusion for SiT / REPA / REG: interpolants, training-time sampling of t, the REG objective, the
 * SDE (Euler–Maruyama) and ODE (Euler, Heun) samplers with classifier-free guidance in an interval,
 * reproducible per-image noise, decoding to uint8 images and images by global index. Runs that write
 * files live in src/pipelines/. See README.md.
 */
export * from './interpolants.js';
export * from './time.js';
export * from './model.js';
export * from './objective.js';
export * from './samplers.js';
export * from './noise.js';
export * from './decode.js';
export * from './sample-images.js';
export * from './hidden-features.js';
