"""NumPy's view of .npz files written by reg-ts (src/eval/npz.ts), and .npz files written by NumPy for
the reg-ts reader. Used by src/eval/npz.test.ts when Debian's python3-numpy is available.

    /usr/bin/python3 test/reference/sampling/npz_check.py read  <file.npz>   -> JSON per array:
        dtype (numpy str), shape, C-contiguous, sha256 of the C-order bytes, and the zip member list
    /usr/bin/python3 test/reference/sampling/npz_check.py write <file.npz>   -> np.savez of fixed arrays
        (arr_0 uint8 (3,4,5,3) = arange % 256, f32 (2,3) = arange / 8, i64 (4,) = [-2, -1, 0, 2**40],
        b (2,2) bool = [[T,F],[F,T]], scalar float64 0-d = 1.5)
"""

import hashlib
import json
import sys
import zipfile

import numpy as np


def describe(path):
    out = {}
    with np.load(path, allow_pickle=False) as f:
        for k in f.files:
            a = f[k]
            out[k] = {
                "dtype": a.dtype.str,
                "shape": list(a.shape),
                "c_contiguous": bool(a.flags["C_CONTIGUOUS"]),
                "sha256": hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest(),
            }
    with zipfile.ZipFile(path) as z:
        members = [dict(name=i.filename, compress_type=i.compress_type, file_size=i.file_size) for i in z.infolist()]
        bad = z.testzip()
    return {"arrays": out, "members": members, "crc_ok": bad is None}


def write(path):
    np.savez(
        path,
        arr_0=(np.arange(3 * 4 * 5 * 3) % 256).astype(np.uint8).reshape(3, 4, 5, 3),
        f32=(np.arange(6, dtype=np.float32) / 8).reshape(2, 3),
        i64=np.array([-2, -1, 0, 2 ** 40], dtype=np.int64),
        b=np.array([[True, False], [False, True]]),
        scalar=np.float64(1.5),
    )


if __name__ == "__main__":
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == "read":
        print(json.dumps(describe(path)))
    elif cmd == "write":
        write(path)
    else:
        raise SystemExit("usage: npz_check.py read|write <file.npz>")
