/**
 * Datasets by serialisable description, so that a dataset can be named on the command line, stored in
 * a run's config, or re-opened by another process.
 */
import type { ImageDataset } from './dataset.js';
import { loadEmoji, type EmojiOptions } from './emoji.js';
import { loadFashionMnist, type FashionMnistOptions } from './fashion-mnist.js';
import { openImageFolder, type ImageFolderOptions } from './image-folder.js';

/** A dataset and its options, as plain JSON. */
export type DatasetSpec =
  | ({ readonly kind: 'fashion-mnist' } & FashionMnistOptions)
  | ({ readonly kind: 'emoji' } & EmojiOptions)
  | ({ readonly kind: 'image-folder' } & ImageFolderOptions);

/** Opens the dataset `spec` describes. */
export async function openDataset(spec: DatasetSpec): Promise<ImageDataset> {
  switch (spec.kind) {
    case 'fashion-mnist':
      return loadFashionMnist(spec);
    case 'emoji':
      return loadEmoji(spec);
    case 'image-folder':
      return openImageFolder(spec);
    default:
      throw new Error(`unknown dataset kind '${(spec as { kind: unknown }).kind}' (fashion-mnist, emoji, image-folder)`);
  }
}
