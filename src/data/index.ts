/**
 * Data: image datasets (Fashion-MNIST, emoji, class folders), deterministic shuffling, prefetching
 * batch loaders with resumable positions, encoder feature caches, and the training sources over them.
 */
export * from './dataset.js';
export { loadFashionMnist, FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, type FashionMnistOptions } from './fashion-mnist.js';
export { loadEmoji, type EmojiOptions } from './emoji.js';
export { openImageFolder, type ImageFolderOptions } from './image-folder.js';
export { openDataset, type DatasetSpec } from './open.js';
export { BatchLoader, type Batch, type BatchLoaderOptions, type LoaderPosition } from './loader.js';
export { FeatureCache, prepareFeatureCache, readManifest, FeatureCacheError, type FeatureCacheManifest } from './feature-cache.js';
export { registerDatasetSources } from './train-sources.js';
