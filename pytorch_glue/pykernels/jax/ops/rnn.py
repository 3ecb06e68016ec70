"""Recurrent layers on jax.Arrays (targets: jax_ffi/rnn.cpp):

    rnn_layer(x, w_ih, w_hh, b_ih=None, b_hh=None, h0=None, c0=None, w_hr=None, *,
              mode="LSTM", reverse=False) -> (y, h_n, c_n)
        ONE layer in ONE direction over a whole padded sequence, torch's gate order and
        formulas (kernels/rnn.h): x (T, N, I), w_ih (G H, I), w_hh (G H, Hout), biases
        (G H,), h0 (N, Hout), c0 (N, H) (LSTM), w_hr (P, H) (LSTM with projection);
        y (T, N, Hout), h_n (N, Hout), c_n (N, H) for an LSTM else None.
        mode: "RNN_TANH", "RNN_RELU", "LSTM" or "GRU".

    rnn(x, params, *, mode="LSTM", num_layers=1, bidirectional=False, batch_first=False,
        h0=None, c0=None) -> (y, h_n, c_n)
        A stack of layers as torch.nn.RNN/LSTM/GRU computes it, with ``params`` a dict
        under torch's names (``weight_ih_l0``, ``weight_hh_l0_reverse``, ``bias_ih_l1``,
        ``weight_hr_l0``...; a torch module's state_dict as arrays loads as is).
        h0 (L D, N, Hout), c0 (L D, N, H); h_n, c_n the same (torch's shapes).

JAX has no recurrent layer of its own (flax's LSTMCell is a cell, stepped by scan);
these follow torch's layout so that weights move between the two. The kernel's
saved ``reserve`` (gate activations, each step's incoming state, sized by
kn_rnn_reserve_cols) is the custom_vjp residual: backward through time is one
kn_rnn_backward call, weight gradients summed in one GEMM each. Packed sequences
(torch's PackedSequence) are left out: JAX programs mask variable lengths instead.
vmap: sequential (x's batch is dim 1 and the state's dim 0: no single dim to fold).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ... import _C
from .._ffi import call, check_float, check_ndim, shape_dtype

__all__ = ["rnn_layer", "rnn"]

MODES = {"RNN_TANH": _C.RNN_TANH, "RNN_RELU": _C.RNN_RELU, "LSTM": _C.LSTM, "GRU": _C.GRU}
GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
_DTYPES = {np.dtype(np.float32): _C.FLOAT32, np.dtype(np.float64): _C.FLOAT64}


def _attrs(mode, reverse, hidden, proj):
    return dict(mode=MODES[mode], reverse=bool(reverse), hidden_size=int(hidden), proj_size=int(proj))


def _forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode, reverse):
    T, N = x.shape[0], x.shape[1]
    hidden = w_hh.shape[0] // GATES[mode]
    proj = 0 if w_hr is None else w_hr.shape[0]
    hout = proj or hidden
    cols = _C.rnn_reserve_cols(MODES[mode], hidden, proj)
    y, h_n, c_n, reserve = call(
        "rnn_forward",
        [shape_dtype((T, N, hout), x.dtype), shape_dtype((N, hout), x.dtype),
         shape_dtype((N, hidden), x.dtype) if mode == "LSTM" else None,
         shape_dtype((T * N, cols), x.dtype)],
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, **_attrs(mode, reverse, hidden, proj))
    return y, h_n, c_n, reserve


@functools.partial(jax.custom_vjp, nondiff_argnums=(8, 9))
def _layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode, reverse):
    y, h_n, c_n, _ = _forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode, reverse)
    return y, h_n, c_n


def _layer_fwd(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode, reverse):
    y, h_n, c_n, reserve = _forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode, reverse)
    present = (h0 is not None, c0 is not None, b_ih is not None, b_hh is not None)
    return (y, h_n, c_n), (x, w_ih, w_hh, w_hr, reserve, present)


def _layer_bwd(mode, reverse, res, cotangents):
    x, w_ih, w_hh, w_hr, reserve, (has_h0, has_c0, has_b_ih, has_b_hh) = res
    dy, dh_n, dc_n = cotangents
    hidden = w_hh.shape[0] // GATES[mode]
    proj = 0 if w_hr is None else w_hr.shape[0]
    T, N = x.shape[0], x.shape[1]
    like = lambda a: shape_dtype(a.shape, a.dtype)  # noqa: E731
    workspace = _C.rnn_backward_workspace_size(MODES[mode], hidden, proj, T * N, N, _DTYPES[np.dtype(x.dtype)])
    outs = call(
        "rnn_backward",
        [like(x), shape_dtype((N, dh_n.shape[1]), x.dtype) if has_h0 else None,
         shape_dtype((N, hidden), x.dtype) if has_c0 else None, like(w_ih), like(w_hh),
         shape_dtype((w_hh.shape[0],), x.dtype) if has_b_ih else None,
         shape_dtype((w_hh.shape[0],), x.dtype) if has_b_hh else None,
         like(w_hr) if w_hr is not None else None,
         shape_dtype((max(1, int(workspace)),), jnp.uint8)],
        x, w_ih, w_hh, w_hr, reserve, dy, dh_n, dc_n if mode == "LSTM" else None,
        **_attrs(mode, reverse, hidden, proj))
    dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dw_hr, _ = outs
    return dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dw_hr


_layer.defvjp(_layer_fwd, _layer_bwd)


def rnn_layer(x, w_ih, w_hh, b_ih=None, b_hh=None, h0=None, c0=None, w_hr=None, *, mode="LSTM",
              reverse=False):
    """One layer, one direction (see the module docstring). Returns (y, h_n, c_n)."""
    op = "rnn_layer"
    if mode not in MODES:
        raise ValueError(f"pykernels.jax.{op}: mode must be one of {sorted(MODES)}, got {mode!r}")
    check_float(op, x=x, w_ih=w_ih, w_hh=w_hh, b_ih=b_ih, b_hh=b_hh, h0=h0, c0=c0, w_hr=w_hr)
    check_ndim(op, "x", x, 3)
    check_ndim(op, "w_ih", w_ih, 2)
    check_ndim(op, "w_hh", w_hh, 2)
    gates = GATES[mode]
    if w_hh.shape[0] % gates or w_ih.shape[0] != w_hh.shape[0]:
        raise ValueError(f"pykernels.jax.{op}: w_ih {tuple(w_ih.shape)} and w_hh {tuple(w_hh.shape)} must "
                         f"both have {gates} H rows for {mode}")
    if w_ih.shape[1] != x.shape[2]:
        raise ValueError(f"pykernels.jax.{op}: x has {x.shape[2]} features but w_ih is {tuple(w_ih.shape)}")
    if mode != "LSTM" and (c0 is not None or w_hr is not None):
        raise ValueError(f"pykernels.jax.{op}: c0 and w_hr are for mode='LSTM' only")
    # The C ABI validates the remaining shapes (h0, c0, biases, w_hr) with a clear message;
    # check them here too so that the error comes at trace time.
    hidden = w_hh.shape[0] // gates
    hout = hidden if w_hr is None else w_hr.shape[0]
    for name, a, shape in (("b_ih", b_ih, (gates * hidden,)), ("b_hh", b_hh, (gates * hidden,)),
                           ("h0", h0, (x.shape[1], hout)), ("c0", c0, (x.shape[1], hidden)),
                           ("w_hr", w_hr, (hout, hidden))):
        if a is not None and tuple(a.shape) != shape:
            raise ValueError(f"pykernels.jax.{op}: {name} has shape {tuple(a.shape)}, expected {shape}")
    if w_hh.shape[1] != hout:
        raise ValueError(f"pykernels.jax.{op}: w_hh is {tuple(w_hh.shape)}, expected ({gates * hidden}, {hout})")
    return _layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, mode, bool(reverse))


def rnn(x, params, *, mode="LSTM", num_layers=1, bidirectional=False, batch_first=False, h0=None, c0=None):
    """A stack of layers as torch.nn.RNN / LSTM / GRU computes it (see the module docstring)."""
    if batch_first:
        x = jnp.swapaxes(x, 0, 1)
    dirs = 2 if bidirectional else 1
    h_n, c_n = [], []
    for layer in range(num_layers):
        outs = []
        for d in range(dirs):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            k = layer * dirs + d
            y, h, c = rnn_layer(
                x, params["weight_ih" + sfx], params["weight_hh" + sfx], params.get("bias_ih" + sfx),
                params.get("bias_hh" + sfx), None if h0 is None else h0[k],
                None if c0 is None or mode != "LSTM" else c0[k], params.get("weight_hr" + sfx),
                mode=mode, reverse=bool(d))
            outs.append(y)
            h_n.append(h)
            c_n.append(c)
        x = outs[0] if dirs == 1 else jnp.concatenate(outs, axis=-1)
    y = jnp.swapaxes(x, 0, 1) if batch_first else x
    return y, jnp.stack(h_n), (jnp.stack(c_n) if mode == "LSTM" else None)
