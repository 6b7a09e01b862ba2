/** Dataset images in the layout the sampler writes (uint8 RGB, NHWC), for scoring samples against real images. */
import type { ImageDataset } from '../data/dataset.js';

/** uint8 NHWC RGB images (what sampled images look like). */
export interface RgbBatch {
  data: Uint8Array;
  /** [N, H, W, 3] */
  shape: readonly number[];
}

/** The images `indices` of a dataset (CHW, grey repeated over three channels) as one NHWC RGB batch. */
export async function datasetImagesAt(ds: ImageDataset, indices: readonly number[]): Promise<RgbBatch> {
  const { height: h, width: w, channels: c } = ds;
  const data = new Uint8Array(indices.length * h * w * 3);
  for (let i = 0; i < indices.length; i++) {
    const { pixels } = await ds.get(indices[i]!);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let k = 0; k < 3; k++) data[((i * h + y) * w + x) * 3 + k] = pixels[(c === 1 ? 0 : k) * h * w + y * w + x]!;
      }
    }
  }
  return { data, shape: [indices.length, h, w, 3] };
}

/** The first `n` images of a dataset (all of them when it has fewer) as one NHWC RGB batch. */
export function datasetImages(ds: ImageDataset, n: number): Promise<RgbBatch> {
  return datasetImagesAt(
    ds,
    Array.from({ length: Math.min(n, ds.length) }, (_, i) => i),
  );
}
