"""Fixture for src/eval/image-source.test.ts: the same 5 uint8 images (6x4, RGB) stored by np.savez and
by np.savez_compressed, and grey images (N, H, W) as arr_0.
Run with any Python that has numpy: python3 test/reference/eval/make_image_npz.py"""
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "eval")
images = (np.arange(5 * 6 * 4 * 3).reshape(5, 6, 4, 3) * 7 % 256).astype(np.uint8)
np.savez_compressed(os.path.join(OUT, "images_compressed.npz"), arr_0=images)
np.savez(os.path.join(OUT, "images_grey.npz"), arr_0=images[..., 0])
