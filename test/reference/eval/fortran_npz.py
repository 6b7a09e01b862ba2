"""Writes test/fixtures/eval/fortran.npz: Fortran-order arrays as np.savez stores them (fortran_order: True).

Run: /usr/bin/python3 test/reference/eval/fortran_npz.py
"""
import os

import numpy as np

out = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "eval", "fortran.npz")
np.savez(
    out,
    i64=np.asfortranarray(np.array([[0, 1, 2], [3, 4, 5]], dtype=np.int64)),
    f32=np.asfortranarray(np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 8),
)
check = np.load(out)
assert check["i64"].flags.f_contiguous and check["i64"].tolist() == [[0, 1, 2], [3, 4, 5]]
