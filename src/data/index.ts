/**
 * Data: image datasets (Fashion-MNIST, emoji, class folders), deterministic shuffling, prefetching
 * batch loaders with resumable positions, encoder feature caches (with autoencoder posteriors),
 * latent-space sampling, REPA/REG's preprocessed layout, and the training sources over them.
 */
export * from './dataset.js';
export { loadFashionMnist, FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, type FashionMnistOptions } from './fashion-mnist.js';
export { loadEmoji, type EmojiOptions } from './emoji.js';
export { openImageFolder, type ImageFolderOptions } from './image-folder.js';
export { openDataset, type DatasetSpec } from './open.js';
export { BatchLoader, type Batch, type BatchLoaderOptions, type LoaderPosition } from './loader.js';
export { FeatureCache, prepareFeatureCache, readManifest, FeatureCacheError, type FeatureCacheManifest } from './feature-cache.js';
export { samplePosterior, PosteriorSampler, type LatentScaling, type PosteriorEncoder, type MomentsProvider } from './latents.js';
export { vaePosterior } from './vae-posterior.js';
export { openRepaLayout, isRepaLayout, type RepaLayout } from './repa-layout.js';
export { IMAGENET256_RESOLUTION } from './latent-source.js';
export { registerDatasetSources } from './train-sources.js';
