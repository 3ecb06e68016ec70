"""Argument normalisation shared by the 2-D spatial ops of pykernels.jax (conv2d,
max_pool2d, avg_pool2d): ints or (h, w) pairs, and jax.lax-style padding turned into the
symmetric (pad_h, pad_w) that the kernels take (kn_conv2d_params, kn_*_pool2d_params
pad both sides of a dim by the same amount). Private: not exported."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def pair(op: str, name: str, v, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints (each >= minimum) -> (h, w); TypeError / ValueError."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
        items = (v, v)
    else:
        try:
            items = tuple(v)
        except TypeError:
            items = None
        if items is None or len(items) != 2 or not all(
                isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_)) for i in items):
            raise TypeError(f"pykernels.jax.{op}: {name}: expected an int or a pair of ints, got {v!r}")
    h, w = int(items[0]), int(items[1])
    if h < minimum or w < minimum:
        raise ValueError(f"pykernels.jax.{op}: {name} must be >= {minimum}, got {(h, w)}")
    return h, w


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def symmetric_padding(op: str, padding, in_hw: Sequence[int], window_hw: Sequence[int],
                      strides: Sequence[int], dilation: Sequence[int]) -> tuple[int, int]:
    """(pad_h, pad_w), each padding both sides of its dim, from

    - an int p (all four sides), or a pair (ph, pw) of ints (torch's form);
    - a pair of (low, high) pairs ((pt, pb), (pl, pr)) (jax.lax's form), low == high;
    - "VALID" (no padding), "SAME" / "SAME_LOWER" (jax.lax's: output size ceil(in / stride);
      accepted where the total padding it needs is even, i.e. splits evenly).

    The kernels pad symmetrically only, so an asymmetric padding is a ValueError (pad x
    with jnp.pad first for that)."""
    if isinstance(padding, str):
        mode = padding.upper()
        if mode == "VALID":
            return 0, 0
        if mode not in ("SAME", "SAME_LOWER"):
            raise ValueError(f"pykernels.jax.{op}: padding: expected an int, a pair, a pair of "
                             f"(low, high) pairs, 'VALID' or 'SAME', got {padding!r}")
        pads = []
        for i in range(2):
            out = -(-in_hw[i] // strides[i])  # ceil(in / stride)
            total = max((out - 1) * strides[i] + (window_hw[i] - 1) * dilation[i] + 1 - in_hw[i], 0)
            lo = total // 2 if mode == "SAME" else total - total // 2
            pads.append((lo, total - lo))
    elif _is_int(padding):
        pads = [(int(padding), int(padding))] * 2
    else:
        try:
            items = tuple(padding)
        except TypeError:
            items = None
        if items is not None and len(items) == 2 and all(_is_int(i) for i in items):
            pads = [(int(items[0]), int(items[0])), (int(items[1]), int(items[1]))]
        elif (items is not None and len(items) == 2
              and all(not _is_int(i) and len(tuple(i)) == 2 and all(_is_int(j) for j in i)
                      for i in items)):
            pads = [(int(i[0]), int(i[1])) for i in items]
        else:
            raise TypeError(f"pykernels.jax.{op}: padding: expected an int, a pair of ints, a pair of "
                            f"(low, high) pairs, 'VALID' or 'SAME', got {padding!r}")
    for lo, hi in pads:
        if lo < 0 or hi < 0:
            raise ValueError(f"pykernels.jax.{op}: padding must be >= 0, got {padding!r}")
        if lo != hi:
            raise ValueError(
                f"pykernels.jax.{op}: padding {padding!r} means (low, high) = {tuple(pads)} here, which "
                "is asymmetric; the libkernels kernels pad both sides of a dim equally (pad x with "
                "jnp.pad first for an asymmetric padding)")
    return pads[0][0], pads[1][0]
