#!/usr/bin/python3
"""Make test/fixtures/io/pickles.json: plain pickles (no torch) for the restricted unpickler's tests.

    /usr/bin/python3 test/reference/io/make_pickle_fixtures.py

Each case is {"name", "protocol", "hex": pickle bytes, "expected": encoded value}; the encoding is the
one documented in make_pt_fixtures.py. Protocols 0 and 1 are included because the reader handles their
text opcodes too, though torch.save never writes them.
"""
import argparse
import collections
import json
import os
import pickle
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_pt_fixtures import OUT, encode  # noqa: E402


class Plain:
    """An arbitrary user class: must come back as {__class__: '__main__.Plain', ...attrs}."""

    def __init__(self):
        self.a = 1
        self.b = "two"


class Slotted:
    __slots__ = ("x", "y")

    def __init__(self):
        self.x = 1
        self.y = [2]


def values():
    return {
        "scalars": [None, True, False, 0, 1, -1, 255, 256, 65535, 65536, -(2**31), 2**31 - 1, 2**31, 2**63, -(2**63) - 1, 10**40, -(10**40), 0.0, -0.0, 1.5, 1e300, -1e-300],
        "strings": ["", "a", "x" * 300, "é✓🚀", "line\nbreak\\back"],
        "bytes": [b"", b"\x00\xff", bytes(range(256)) * 2, bytearray(b"ba")],
        "containers": {"list": [1, [2, [3]]], "tuple": (1, (2,), (), (1, 2, 3, 4)), "dict": {"a": 1, 2: "b", None: [], (1, "t"): 3.0}, "set": {1, 2}, "frozenset": frozenset({"f"})},
        "ordered": collections.OrderedDict([("z", 1), ("a", 2)]),
        "namespace": argparse.Namespace(lr=0.1, name="x", flags=[True]),
        "plain": Plain(),
        "many": list(range(1100)),
        "dict_many": {f"k{i}": i for i in range(300)},
        "shared": (lambda s: [s, s, {"again": s}])([9]),
    }


def main():
    cases = []
    for name, v in values().items():
        for proto in (0, 2, 5) if name in ("many", "dict_many") else range(0, 6):
            cases.append({"name": name, "protocol": proto, "hex": pickle.dumps(v, protocol=proto).hex(), "expected": encode(v)})
    # slots: state comes as (None, {'x':..,'y':..}); encode by hand
    for proto in (2, 5):
        cases.append({"name": "slotted", "protocol": proto, "hex": pickle.dumps(Slotted(), protocol=proto).hex(),
                      "expected": {"object": "__main__.Slotted", "attrs": {"dict": [["x", 1], ["y", {"list": [2]}]]}}})
    with open(os.path.join(OUT, "pickles.json"), "w") as f:
        json.dump(cases, f, separators=(",", ":"))
    print("wrote", len(cases), "pickle cases", file=sys.stderr)


if __name__ == "__main__":
    main()
