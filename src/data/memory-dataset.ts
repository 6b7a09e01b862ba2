/**
 * An {@link ImageDataset} whose images are all held in one uint8 buffer, with an optional per-sample
 * transform applied on `get` (so that a large dataset can stay stored at its small native size).
 */
import { checkIndex, type ImageDataset, type ImageSample } from './dataset.js';

/** Shape of one CHW image. */
export interface ImageShape {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

/** Construction options of {@link InMemoryDataset}. */
export interface InMemoryDatasetInit {
  /** Dataset name. */
  readonly name: string;
  /** Class names indexed by label. */
  readonly classNames: readonly string[];
  /** One label per stored image. */
  readonly labels: Int32Array;
  /** All stored images, CHW each, concatenated: `labels.length · C·H·W` bytes. */
  readonly pixels: Uint8Array;
  /** Shape of a stored image. */
  readonly stored: ImageShape;
  /** Shape of a delivered image, when `transform` changes it (default: `stored`). */
  readonly output?: ImageShape;
  /** Maps one stored CHW image to the delivered CHW image; must not modify its input. */
  readonly transform?: (stored: Uint8Array) => Uint8Array;
}

/** Images in memory; `get` copies (and transforms) one image. */
export class InMemoryDataset implements ImageDataset {
  readonly name: string;
  readonly length: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly numClasses: number;
  readonly classNames: readonly string[];
  readonly labels: Int32Array;
  readonly #pixels: Uint8Array;
  readonly #storedBytes: number;
  readonly #transform: ((stored: Uint8Array) => Uint8Array) | undefined;

  constructor(init: InMemoryDatasetInit) {
    const out = init.output ?? init.stored;
    this.name = init.name;
    this.length = init.labels.length;
    this.channels = out.channels;
    this.height = out.height;
    this.width = out.width;
    this.classNames = init.classNames;
    this.numClasses = init.classNames.length;
    this.labels = init.labels;
    this.#storedBytes = init.stored.channels * init.stored.height * init.stored.width;
    if (init.pixels.length !== this.length * this.#storedBytes) {
      throw new RangeError(`${init.name}: ${init.pixels.length} pixel bytes for ${this.length} images of ${this.#storedBytes} bytes`);
    }
    if (init.output !== undefined && init.transform === undefined) {
      throw new Error(`${init.name}: an output shape needs a transform`);
    }
    this.#pixels = init.pixels;
    this.#transform = init.transform;
  }

  /** Returns sample `index` (a fresh copy of its pixels). */
  async get(index: number): Promise<ImageSample> {
    checkIndex(index, this.length, this.name);
    const stored = this.#pixels.subarray(index * this.#storedBytes, (index + 1) * this.#storedBytes);
    const pixels = this.#transform ? this.#transform(stored) : stored.slice();
    return { pixels, label: this.labels[index]! };
  }
}
