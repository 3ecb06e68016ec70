"""Recurrent layers on jax.Arrays (targets: jax_ffi/rnn.cpp; kernels/rnn.h): one layer,
one direction, a whole padded sequence per call.

    rnn_layer(x, w_ih, w_hh, b_ih=None, b_hh=None, h0=None, c0=None, w_hr=None, *,
              mode="LSTM", reverse=False) -> (y, h_n, c_n)
        x:(T, N, I) time-major (a batch-first array is jnp.swapaxes(x, 0, 1), an XLA copy);
        w_ih:(G H, I), w_hh:(G H, Hout), b_ih, b_hh:(G H,) or None; h0:(N, Hout) and
        c0:(N, H) (LSTM) or None = zeros; w_hr:(P, H), an LSTM's projection (Hout = P).
        mode: "RNN_TANH" | "RNN_RELU" | "LSTM" | "GRU" (G = 1, 1, 4, 3), torch's gate order
        [i f g o] / [r z n] and formulas; reverse runs t = T-1 .. 0.
        -> y:(T, N, Hout) every step's h, h_n:(N, Hout), c_n:(N, H) (LSTM; None otherwise).

Gradients: x, h0, c0, every weight and bias (one backward-through-time call computes
them all, the weights' summed over the steps with one GEMM each), from the cotangents of
y, h_n and c_n. The forward's reserve (gate activations and incoming states, (T N,
kn_rnn_reserve_cols) columns, sized through pykernels._C.rnn_reserve_cols) is an explicit
output kept as the residual. On CUDA the backward's scratch is one more uint8 result of
kn_rnn_backward_workspace_size bytes, handed to the library as kn_exec.workspace
(Call.workspace_from_out); on the CPU (jax.default_backend() == "cpu") it is absent (the
library allocates its own).

vmap: one call per mapped index (ffi_call's "sequential"). The sequences are the
kernel's batch N, but the weight gradients sum over N (a per-index weight gradient needs
its own call) and the reserve's row layout is internal to the library, so neither
direction folds.

jax has no recurrent layer function (flax has cells): the names and arguments are
pykernels' own (its NumPy rnn_layer; torch.nn.LSTM's weight names). Not here: packed
sequences (batch_sizes, host memory in kn_rnn_params).

    rnn(x, params, *, mode="LSTM", num_layers=1, bidirectional=False, batch_first=False,
        h0=None, c0=None) -> (y, h_n, c_n)
        A stack of layers and directions as torch.nn.RNN / LSTM / GRU computes it, from
        ``params`` under torch's names (weight_ih_l0, weight_hh_l0_reverse, bias_ih_l1,
        weight_hr_l0...: a torch module's state_dict as arrays loads as is); h0:(L D, N,
        Hout), c0:(L D, N, H); h_n, c_n the same (torch's shapes). Each layer and
        direction is one rnn_layer call; a bidirectional layer's two halves are
        concatenated (an XLA copy).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ... import _C
from .._ffi import call, check_float, like, shape_dtype

__all__ = ["rnn_layer", "rnn"]

_MODES = {"RNN_TANH": 0, "RNN_RELU": 1, "LSTM": 2, "GRU": 3}  # kn_rnn_mode
_GATES = {0: 1, 1: 1, 2: 4, 3: 3}
_LSTM = 2
_KN_DTYPE = {np.dtype(np.float32): 0, np.dtype(np.float64): 1}  # kn_dtype


def _forward(x, w_ih, w_hh, b_ih, b_hh, h0, c0, w_hr, mode, reverse):
    # -> y (T,N,Hout), h_n (N,Hout), c_n (N,H)|None, reserve (T N, cols)
    t, n = x.shape[0], x.shape[1]
    hidden = w_ih.shape[0] // _GATES[mode]
    proj = 0 if w_hr is None else w_hr.shape[0]
    hout = proj or hidden
    dt = x.dtype
    cols = _C.rnn_reserve_cols(mode, hidden, proj)
    results = [shape_dtype((t, n, hout), dt), shape_dtype((n, hout), dt),
               shape_dtype((n, hidden), dt) if mode == _LSTM else None, shape_dtype((t * n, cols), dt)]
    return call("rnn_forward", results, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr,
                mode=mode, reverse=reverse, hidden_size=hidden, proj_size=proj)


@functools.partial(jax.custom_vjp, nondiff_argnums=(8, 9))
def _rnn(x, w_ih, w_hh, b_ih, b_hh, h0, c0, w_hr, mode, reverse):
    y, h_n, c_n, _ = _forward(x, w_ih, w_hh, b_ih, b_hh, h0, c0, w_hr, mode, reverse)
    return y, h_n, c_n


def _rnn_fwd(x, w_ih, w_hh, b_ih, b_hh, h0, c0, w_hr, mode, reverse):
    y, h_n, c_n, reserve = _forward(x, w_ih, w_hh, b_ih, b_hh, h0, c0, w_hr, mode, reverse)
    # b_ih, h0, c0 are kept for which gradients exist (references, no copies)
    return (y, h_n, c_n), (x, w_ih, w_hh, b_ih, b_hh, h0, c0, w_hr, reserve)


def _rnn_bwd(mode, reverse, res, cts):
    x, w_ih, w_hh, b_ih, b_hh, h0, c0, w_hr, reserve = res
    dy, dh_n, dc_n = cts
    hidden = w_ih.shape[0] // _GATES[mode]
    proj = 0 if w_hr is None else w_hr.shape[0]
    workspace = None
    if jax.default_backend() != "cpu":  # CUDA: the library takes its scratch from the caller
        size = _C.rnn_backward_workspace_size(mode, hidden, proj, x.shape[0] * x.shape[1], x.shape[1],
                                              _KN_DTYPE[np.dtype(x.dtype)])
        workspace = shape_dtype((size,), np.uint8)
    results = [like(x), like(h0) if h0 is not None else None, like(c0) if c0 is not None else None,
               like(w_ih), like(w_hh), like(b_ih) if b_ih is not None else None,
               like(b_hh) if b_hh is not None else None, like(w_hr) if w_hr is not None else None, workspace]
    grads = call("rnn_backward", results, x, w_ih, w_hh, w_hr, reserve, dy, dh_n,
                 dc_n if mode == _LSTM else None, mode=mode, reverse=reverse, hidden_size=hidden,
                 proj_size=proj)
    dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dw_hr, _ = grads
    return dx, dw_ih, dw_hh, db_ih, db_hh, dh0, dc0, dw_hr


_rnn.defvjp(_rnn_fwd, _rnn_bwd)


def _expect(op, name, a, shape):
    if a is not None and tuple(a.shape) != tuple(shape):
        raise ValueError(f"pykernels.jax.{op}: {name} must have shape {tuple(shape)}, got {tuple(a.shape)}")


def rnn_layer(x, w_ih, w_hh, b_ih=None, b_hh=None, h0=None, c0=None, w_hr=None, *, mode="LSTM",
              reverse=False):
    """One recurrent layer over the time-major sequence x:(T, N, I) -> (y, h_n, c_n); see the
    module docstring."""
    op = "rnn_layer"
    if mode not in _MODES:
        raise ValueError(f"pykernels.jax.{op}: mode must be one of {sorted(_MODES)}, got {mode!r}")
    code = _MODES[mode]
    check_float(op, x=x, w_ih=w_ih, w_hh=w_hh, b_ih=b_ih, b_hh=b_hh, h0=h0, c0=c0, w_hr=w_hr)
    if x.ndim != 3:
        raise ValueError(f"pykernels.jax.{op}: x must be (T, N, I) (time-major; packed sequences are not "
                         f"supported), got shape {tuple(x.shape)}")
    if w_ih.ndim != 2 or w_ih.shape[0] % _GATES[code] or w_ih.shape[0] == 0:
        raise ValueError(f"pykernels.jax.{op}: w_ih must be ({_GATES[code]} * hidden_size, input_size) for "
                         f"mode {mode!r}, got shape {tuple(w_ih.shape)}")
    gh, hidden = w_ih.shape[0], w_ih.shape[0] // _GATES[code]
    if code != _LSTM and (w_hr is not None or c0 is not None):
        raise ValueError(f"pykernels.jax.{op}: w_hr and c0 are LSTM-only (mode {mode!r})")
    if w_hr is not None and (w_hr.ndim != 2 or w_hr.shape[1] != hidden or not 0 < w_hr.shape[0] < hidden):
        raise ValueError(f"pykernels.jax.{op}: w_hr must be (proj_size, {hidden}) with 0 < proj_size < "
                         f"{hidden}, got shape {tuple(w_hr.shape)}")
    hout = hidden if w_hr is None else w_hr.shape[0]
    n = x.shape[1]
    _expect(op, "w_ih", w_ih, (gh, x.shape[2]))
    _expect(op, "w_hh", w_hh, (gh, hout))
    _expect(op, "b_ih", b_ih, (gh,))
    _expect(op, "b_hh", b_hh, (gh,))
    _expect(op, "h0", h0, (n, hout))
    _expect(op, "c0", c0, (n, hidden))
    return tuple(_rnn(x, w_ih, w_hh, b_ih, b_hh, h0, c0, w_hr, code, bool(reverse)))


def rnn(x, params, *, mode="LSTM", num_layers=1, bidirectional=False, batch_first=False, h0=None, c0=None):
    """A stack of rnn_layer calls as torch.nn.RNN / LSTM / GRU (see the module docstring)."""
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
                None if c0 is None else c0[k], params.get("weight_hr" + sfx), mode=mode, reverse=bool(d))
            outs.append(y)
            h_n.append(h)
            c_n.append(c)
        x = outs[0] if dirs == 1 else jnp.concatenate(outs, axis=-1)
    y = jnp.swapaxes(x, 0, 1) if batch_first else x
    return y, jnp.stack(h_n), (jnp.stack(c_n) if mode == "LSTM" else None)
