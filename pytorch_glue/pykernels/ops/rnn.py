"""Recurrent layers on NumPy arrays: ``pykernels.rnn_layer`` and
``pykernels.rnn_layer_backward`` (exported by ``import pykernels``; the kernels:
kernels/rnn.h). One layer, one direction, a whole sequence per call.

    y, h_n, c_n, reserve = pykernels.rnn_layer(x, w_ih, w_hh, b_ih, b_hh, mode="LSTM")
    grads = pykernels.rnn_layer_backward(reserve, x, w_ih, w_hh, dy=dy, mode="LSTM")
    grads["w_ih"], grads["x"], ...

mode: "RNN_TANH", "RNN_RELU", "LSTM" or "GRU" (torch.nn's names and gate order).
x is time-major (T, N, I), any strides (a batch-first array's ``x.transpose(1, 0, 2)``
is a view), or the (total, I) rows of a packed sequence with ``batch_sizes``.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import numpy as np

from .. import _C
from .._arrays import _array, _shape_error

__all__ = ["rnn_layer", "rnn_layer_backward"]

MODES = {"RNN_TANH": _C.RNN_TANH, "RNN_RELU": _C.RNN_RELU, "LSTM": _C.LSTM, "GRU": _C.GRU}
GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _mode(mode: str, op: str) -> int:
    if mode not in MODES:
        raise ValueError(f"{op}: mode must be one of {sorted(MODES)}, got {mode!r}")
    return MODES[mode]


def _sizes(batch_sizes: Optional[Sequence[int]]):
    return None if batch_sizes is None else [int(b) for b in batch_sizes]


def rnn_layer(x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: Optional[np.ndarray] = None,
              b_hh: Optional[np.ndarray] = None, h0: Optional[np.ndarray] = None,
              c0: Optional[np.ndarray] = None, w_hr: Optional[np.ndarray] = None, *,
              mode: str = "LSTM", reverse: bool = False,
              batch_sizes: Optional[Sequence[int]] = None, num_threads: int = 0):
    """One recurrent layer over a whole sequence.

    x: (T, N, I) or packed (total, I) with ``batch_sizes``; w_ih: (G H, I), w_hh: (G H, Hout),
    b_ih, b_hh: (G H,) or None; h0: (N, Hout), c0: (N, H) (LSTM) or None = zeros;
    w_hr: (P, H) for an LSTM with projection (Hout = P). Returns (y, h_n, c_n, reserve):
    y (T, N, Hout) or (total, Hout), h_n (N, Hout), c_n (N, H) or None, and the reserve
    that rnn_layer_backward needs."""
    op = "pykernels.rnn_layer"
    code = _mode(mode, op)
    x, w_ih, w_hh = _array(x, op, "x"), _array(w_ih, op, "w_ih"), _array(w_hh, op, "w_hh")
    if w_ih.ndim != 2:
        raise _shape_error(f"{op}: w_ih: expected 2 dims (gates * hidden_size, input_size), got {w_ih.shape}")
    hidden = w_ih.shape[0] // GATES[mode]
    proj = 0 if w_hr is None else _array(w_hr, op, "w_hr").shape[0]
    hout = proj or hidden
    sizes = _sizes(batch_sizes)
    if x.ndim not in (2, 3) or (sizes is None) != (x.ndim == 3):
        raise _shape_error(f"{op}: x: expected (T, N, I), or (total, I) with batch_sizes; got shape "
                           f"{x.shape} with batch_sizes={sizes}")
    n = (sizes[0] if sizes else 0) if sizes is not None else x.shape[1]
    y = np.empty(x.shape[:-1] + (hout,), dtype=x.dtype)
    h_n = np.empty((n, hout), dtype=x.dtype)
    c_n = np.empty((n, hidden), dtype=x.dtype) if code == _C.LSTM else None
    rows = x.shape[0] if sizes is not None else x.shape[0] * x.shape[1]
    reserve = np.empty((rows, _C.rnn_reserve_cols(code, hidden, proj)), dtype=x.dtype)
    _C.rnn_forward(code, bool(reverse), hidden, proj, sizes, x, h0, c0, w_ih, w_hh, b_ih, b_hh,
                   w_hr, y, h_n, c_n, reserve, num_threads=num_threads)
    return y, h_n, c_n, reserve


def rnn_layer_backward(reserve: np.ndarray, x: Optional[np.ndarray], w_ih: np.ndarray,
                       w_hh: np.ndarray, w_hr: Optional[np.ndarray] = None, *,
                       dy: Optional[np.ndarray] = None, dh_n: Optional[np.ndarray] = None,
                       dc_n: Optional[np.ndarray] = None, mode: str = "LSTM",
                       reverse: bool = False, batch_sizes: Optional[Sequence[int]] = None,
                       bias: bool = True, num_threads: int = 0) -> Dict[str, np.ndarray]:
    """Backward through time of rnn_layer (same mode, reverse, batch_sizes): the gradients
    {"x", "h0", "c0" (LSTM), "w_ih", "w_hh", "b_ih", "b_hh" (bias=True), "w_hr" (projection)}
    from dy (y's shape), dh_n, dc_n (None = zeros). x may be None: then no "w_ih" (and
    dy carries the sequence's shape)."""
    op = "pykernels.rnn_layer_backward"
    code = _mode(mode, op)
    reserve, w_ih, w_hh = (_array(reserve, op, "reserve"), _array(w_ih, op, "w_ih"),
                           _array(w_hh, op, "w_hh"))
    hidden = w_ih.shape[0] // GATES[mode]
    proj = 0 if w_hr is None else w_hr.shape[0]
    hout = proj or hidden
    sizes = _sizes(batch_sizes)
    seq = x if x is not None else dy
    if seq is None:
        raise ValueError(f"{op}: x and dy: at least one must be given")
    n = (sizes[0] if sizes else 0) if sizes is not None else seq.shape[1]
    dt = reserve.dtype
    g = {"h0": np.empty((n, hout), dt), "w_hh": np.empty(w_hh.shape, dt)}
    g["x"] = np.empty(seq.shape[:-1] + (w_ih.shape[1],), dt)
    if code == _C.LSTM:
        g["c0"] = np.empty((n, hidden), dt)
    if x is not None:
        g["w_ih"] = np.empty(w_ih.shape, dt)
    if bias:
        g["b_ih"] = np.empty((w_ih.shape[0],), dt)
        g["b_hh"] = np.empty((w_ih.shape[0],), dt)
    if proj:
        g["w_hr"] = np.empty(w_hr.shape, dt)
    _C.rnn_backward(code, bool(reverse), hidden, proj, sizes, x, w_ih, w_hh, w_hr, reserve, dy,
                    dh_n, dc_n, g["x"], g["h0"], g.get("c0"), g.get("w_ih"), g["w_hh"],
                    g.get("b_ih"), g.get("b_hh"), g.get("w_hr"), num_threads=num_threads)
    return g
