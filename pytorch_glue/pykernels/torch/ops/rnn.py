"""Recurrent layers: the custom ops ``pykernels::rnn_layer`` and
``pykernels::rnn_layer_backward`` (one layer, one direction, a whole sequence:
kernels/rnn.h), and the public API built on them (exported by pykernels.torch
through _registry):

    nn.RNN, nn.LSTM (proj_size too), nn.GRU      like torch.nn's: multi-layer,
        bidirectional, dropout between layers, batch_first, unbatched input,
        PackedSequence input (the kernel runs the packed rows: no padding compute),
        h0 / c0 given or absent; the same parameters, initialisation, state dicts
        and return types (output, h_n or (h_n, c_n); a PackedSequence for a packed
        input).
    nn.RNNCell, nn.LSTMCell, nn.GRUCell          like torch.nn's (one step = the
        layer op with T = 1: the same fused gate kernels).
    functional.rnn_layer(input, weight_ih, weight_hh, bias_ih, bias_hh, h0, c0,
        weight_hr, mode="LSTM", reverse=False, batch_sizes=None) -> (output, h_n, c_n)
    autograd.RNNLayerFunction.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr,
        batch_sizes, mode, reverse, hidden_size) -> (y, h_n, c_n, reserve)

    rnn_layer(x:(T,N,I) | packed (total,I), h0:(N,Hout)?, c0:(N,H)?, w_ih:(G H,I),
              w_hh:(G H,Hout), b_ih?, b_hh?, w_hr:(P,H)?, batch_sizes: list | None,
              mode: int, reverse: bool, hidden_size: int)
        -> (y:(T,N,Hout) | (total,Hout), h_n:(N,Hout), c_n:(N,H) (LSTM, else 0 elements),
            reserve:(rows, cols): what backward needs, an explicit output)
    rnn_layer_backward(grad_y, grad_h_n, grad_c_n?, x?, w_ih, w_hh, w_hr?, reserve,
                       batch_sizes, mode, reverse, hidden_size, need_input, need_h0,
                       need_c0, need_weight, need_bias)
        -> (dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dw_hr); 0 elements where not needed

mode is pykernels._C.RNN_TANH, RNN_RELU, LSTM or GRU. The torch.nn modules keep
their mode as a string ("LSTM", "RNN_TANH", ...): MODES maps it.
"""
from __future__ import annotations

import threading
from typing import List, Optional, Tuple

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence

from ... import _C
from ...ops.rnn import MODES
from .. import _registry
from .._glue import call, empty, expect_dim, fast_path, mark_non_differentiable, none_output
from .dropout import draw_seed, dropout_fast

_OP = "pykernels::rnn_layer"

# ------------------------------------------------------------------ forward


def _rnn_layer_outputs(x: Tensor, h0: Optional[Tensor], c0: Optional[Tensor], w_ih: Tensor,
                       w_hh: Tensor, b_ih: Optional[Tensor], b_hh: Optional[Tensor],
                       w_hr: Optional[Tensor], batch_sizes: Optional[List[int]], mode: int,
                       reverse: bool, hidden_size: int):
    y, h_n, c_n, rows, cols = _state_outputs(x, w_hr, batch_sizes, mode, hidden_size)
    return y, h_n, c_n, empty((rows, cols), like=x)


def _state_outputs(x: Tensor, w_hr: Optional[Tensor], batch_sizes: Optional[List[int]], mode: int,
                   hidden_size: int):
    """(y, h_n, c_n, reserve rows, reserve columns): the outputs but the reserve."""
    proj = w_hr.shape[0] if w_hr is not None else 0
    hout = proj or hidden_size
    if batch_sizes is not None:
        expect_dim(x, 2, _OP, "x (packed)")
        n, rows = (batch_sizes[0] if batch_sizes else 0), x.shape[0]
        y = empty((x.shape[0], hout), like=x)
    else:
        expect_dim(x, 3, _OP, "x")
        n, rows = x.shape[1], x.shape[0] * x.shape[1]
        y = empty((x.shape[0], n, hout), like=x)
    h_n = empty((n, hout), like=x)
    c_n = empty((n, hidden_size), like=x) if mode == _C.LSTM else none_output(x)
    return y, h_n, c_n, rows, _C.rnn_reserve_cols(mode, hidden_size, proj)


def _run(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes, mode, reverse, hidden_size,
         y, h_n, c_n, reserve) -> None:
    """The forward kernel into the given outputs and reserve (any (rows, cols) tensor)."""
    proj = w_hr.shape[0] if w_hr is not None else 0
    lstm = mode == _C.LSTM
    call(_C.rnn_forward, _OP, mode, bool(reverse), hidden_size, proj,
         None if batch_sizes is None else list(batch_sizes), x=x, h0=h0,
         c0=c0 if lstm else None, w_ih=w_ih, w_hh=w_hh, b_ih=b_ih, b_hh=b_hh, w_hr=w_hr, y=y,
         h_n=h_n, c_n=c_n if lstm else None, reserve=reserve)


def _rnn_layer(x: Tensor, h0: Optional[Tensor], c0: Optional[Tensor], w_ih: Tensor, w_hh: Tensor,
               b_ih: Optional[Tensor], b_hh: Optional[Tensor], w_hr: Optional[Tensor],
               batch_sizes: Optional[List[int]], mode: int, reverse: bool, hidden_size: int
               ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """One recurrent layer, one direction, over the whole sequence (kernels/rnn.h)."""
    y, h_n, c_n, reserve = _rnn_layer_outputs(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr,
                                              batch_sizes, mode, reverse, hidden_size)
    _run(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes, mode, reverse, hidden_size,
         y, h_n, c_n, reserve)
    return y, h_n, c_n, reserve


# The reserve of a call that needs no gradient is only the forward's working space
# (its gate columns): one CPU buffer per thread and dtype, kept between calls, serves
# every such call. A fresh reserve per layer and call (10.5 MB at the benchmark's
# T32 N64 LSTM 128->256) went back to the OS when freed (glibc trims the heap top) and
# was page-faulted in again on the next call: ~13% of the LSTM inference row's samples
# in the kernel (Intel Xeon model 167). Per thread: calls on other threads never share it.
_scratch = threading.local()


def _scratch_reserve(rows: int, cols: int, like: Tensor) -> Tensor:
    if like.device.type != "cpu":
        return empty((rows, cols), like=like)  # the caching allocator already keeps it
    key = f"reserve_{like.dtype}"
    buf = getattr(_scratch, key, None)
    if buf is None or buf.numel() < rows * cols:
        buf = like.new_empty(rows * cols)
        setattr(_scratch, key, buf)
    return buf[:rows * cols].view(rows, cols)


def _rnn_layer_no_grad(x: Tensor, h0: Optional[Tensor], c0: Optional[Tensor], w_ih: Tensor,
                       w_hh: Tensor, b_ih: Optional[Tensor], b_hh: Optional[Tensor],
                       w_hr: Optional[Tensor], batch_sizes: Optional[List[int]], mode: int,
                       reverse: bool, hidden_size: int) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """_rnn_layer for an eager call that needs no gradient: the reserve is this thread's
    scratch, and the returned reserve a 0-element tensor (no backward will read it)."""
    y, h_n, c_n, rows, cols = _state_outputs(x, w_hr, batch_sizes, mode, hidden_size)
    _run(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes, mode, reverse, hidden_size,
         y, h_n, c_n, _scratch_reserve(rows, cols, x))
    return y, h_n, c_n, none_output(x)


rnn_layer = torch.library.custom_op(_OP, mutates_args=())(_rnn_layer)
rnn_layer.register_fake(_rnn_layer_outputs)

# ----------------------------------------------------------------- backward


def _rnn_layer_backward_outputs(grad_y: Tensor, grad_h_n: Tensor, grad_c_n: Optional[Tensor],
                                x: Optional[Tensor], w_ih: Tensor, w_hh: Tensor,
                                w_hr: Optional[Tensor], reserve: Tensor,
                                batch_sizes: Optional[List[int]], mode: int, reverse: bool,
                                hidden_size: int, need_input: bool, need_h0: bool, need_c0: bool,
                                need_weight: bool, need_bias: bool):
    op = "pykernels::rnn_layer_backward"
    if need_weight and x is None:
        raise ValueError(f"{op}: x: must not be None when need_weight is True")
    expect_dim(grad_h_n, 2, op, "grad_h_n")
    n = grad_h_n.shape[0]
    lstm = mode == _C.LSTM
    dx = empty((*grad_y.shape[:-1], w_ih.shape[1]), like=grad_y) if need_input else none_output(grad_y)
    dh0 = empty(tuple(grad_h_n.shape), like=grad_y) if need_h0 else none_output(grad_y)
    dc0 = empty((n, hidden_size), like=grad_y) if need_c0 and lstm else none_output(grad_y)
    dw_ih = empty(tuple(w_ih.shape), like=grad_y) if need_weight else none_output(grad_y)
    dw_hh = empty(tuple(w_hh.shape), like=grad_y) if need_weight else none_output(grad_y)
    db_ih = empty((w_ih.shape[0],), like=grad_y) if need_bias else none_output(grad_y)
    db_hh = empty((w_ih.shape[0],), like=grad_y) if need_bias else none_output(grad_y)
    dw_hr = (empty(tuple(w_hr.shape), like=grad_y) if need_weight and w_hr is not None
             else none_output(grad_y))
    return dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dw_hr


def _rnn_layer_backward(grad_y: Tensor, grad_h_n: Tensor, grad_c_n: Optional[Tensor],
                        x: Optional[Tensor], w_ih: Tensor, w_hh: Tensor, w_hr: Optional[Tensor],
                        reserve: Tensor, batch_sizes: Optional[List[int]], mode: int,
                        reverse: bool, hidden_size: int, need_input: bool, need_h0: bool,
                        need_c0: bool, need_weight: bool, need_bias: bool
                        ) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Backward through time: the gradients of x, h0, c0 and the weights (summed over
    the steps); a 0-element tensor where not needed."""
    outs = _rnn_layer_backward_outputs(grad_y, grad_h_n, grad_c_n, x, w_ih, w_hh, w_hr, reserve,
                                       batch_sizes, mode, reverse, hidden_size, need_input,
                                       need_h0, need_c0, need_weight, need_bias)
    dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dw_hr = outs
    lstm = mode == _C.LSTM
    proj = w_hr.shape[0] if w_hr is not None else 0
    workspace = None
    if grad_y.is_cuda:  # the library never allocates device memory: the scratch is ours
        dtype = _C.FLOAT32 if grad_y.dtype == torch.float32 else _C.FLOAT64
        nbytes = _C.rnn_backward_workspace_size(mode, hidden_size, proj, reserve.shape[0],
                                                grad_h_n.shape[0], dtype)
        workspace = torch.empty((max(nbytes, 1),), dtype=torch.uint8, device=grad_y.device)
    call(_C.rnn_backward, "pykernels::rnn_layer_backward", mode, bool(reverse), hidden_size, proj,
         None if batch_sizes is None else list(batch_sizes),
         x=x if need_weight else None, w_ih=w_ih, w_hh=w_hh, w_hr=w_hr, reserve=reserve,
         dy=grad_y, dh_n=grad_h_n, dc_n=grad_c_n if lstm else None,
         dx=dx if need_input else None, dh0=dh0 if need_h0 else None,
         dc0=dc0 if need_c0 and lstm else None, dw_ih=dw_ih if need_weight else None,
         dw_hh=dw_hh if need_weight else None, db_ih=db_ih if need_bias else None,
         db_hh=db_hh if need_bias else None, dw_hr=dw_hr if need_weight and proj else None,
         workspace=workspace)
    return outs


rnn_layer_backward = torch.library.custom_op("pykernels::rnn_layer_backward",
                                             mutates_args=())(_rnn_layer_backward)
rnn_layer_backward.register_fake(_rnn_layer_backward_outputs)
rnn_layer_backward_fast = fast_path(rnn_layer_backward, _rnn_layer_backward)

# ----------------------------------------------------------------- autograd
# inputs: x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes, mode, reverse, hidden_size


def setup_context(ctx, inputs, output) -> None:
    """Save the reserve and the weights; x only when a weight needs a gradient."""
    x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes, mode, reverse, hidden_size = inputs
    need = ctx.needs_input_grad
    need_weight = need[3] or need[4] or need[7]
    ctx.params = (batch_sizes, mode, reverse, hidden_size)
    ctx.shapes = (output[0].shape, output[1].shape[0])
    # Not a zero-filled reserve-sized gradient per backward (10.5 MB a layer at the
    # benchmark's LSTM), nor zeros for an unused h_n / c_n: backward takes None.
    mark_non_differentiable(ctx, output[3])
    ctx.save_for_backward(x if need_weight else None, w_ih, w_hh, w_hr, output[3])


def backward(ctx, grad_y, grad_h_n, grad_c_n, grad_reserve):
    x, w_ih, w_hh, w_hr, reserve = ctx.saved_tensors
    batch_sizes, mode, reverse, hidden_size = ctx.params
    need = ctx.needs_input_grad
    need_weight, need_bias = need[3] or need[4] or need[7], need[5] or need[6]
    lstm = mode == _C.LSTM
    # Outputs that took no part in the loss may come as None: zeros of their shapes.
    y_shape, n = ctx.shapes
    if grad_y is None:
        grad_y = reserve.new_zeros(y_shape)
    if grad_h_n is None:
        grad_h_n = reserve.new_zeros((n, w_hh.shape[1]))
    if lstm and grad_c_n is None:
        grad_c_n = reserve.new_zeros((n, hidden_size))
    dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dw_hr = rnn_layer_backward_fast(
        grad_y, grad_h_n, grad_c_n if lstm else None, x, w_ih, w_hh, w_hr, reserve, batch_sizes,
        mode, reverse, hidden_size, need[0], need[1], need[2] and lstm, need_weight, need_bias)
    return (dx if need[0] else None, dh0 if need[1] else None,
            dc0 if need[2] and lstm else None, dw_ih if need[3] else None,
            dw_hh if need[4] else None, db_ih if need[5] else None, db_hh if need[6] else None,
            dw_hr if need[7] else None, None, None, None, None)


rnn_layer.register_autograd(backward, setup_context=setup_context)
rnn_layer_fast = fast_path(rnn_layer, _rnn_layer, setup_context, backward,
                           no_grad_impl=_rnn_layer_no_grad)

# ------------------------------------------------------------- public API


def rnn_layer_function(input: Tensor, weight_ih: Tensor, weight_hh: Tensor,
                       bias_ih: Optional[Tensor] = None, bias_hh: Optional[Tensor] = None,
                       h0: Optional[Tensor] = None, c0: Optional[Tensor] = None,
                       weight_hr: Optional[Tensor] = None, mode: str = "LSTM",
                       reverse: bool = False, batch_sizes: Optional[List[int]] = None
                       ) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
    """One recurrent layer in one direction over a time-major sequence.

    input: (T, N, input_size), or the (total, input_size) data of a packed sequence with
    its ``batch_sizes``; h0: (N, Hout), c0: (N, hidden_size) or None (zeros); weights as
    torch.nn.LSTM's ``weight_ih_l0`` etc. mode: "RNN_TANH", "RNN_RELU", "LSTM" or "GRU".
    Returns (output, h_n, c_n) with c_n None except for LSTM."""
    if mode not in MODES:
        raise ValueError(f"pykernels.torch.functional.rnn_layer: mode must be one of "
                         f"{sorted(MODES)}, got {mode!r}")
    code = MODES[mode]
    gates = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    hidden_size = weight_ih.shape[0] // gates
    y, h_n, c_n, _ = rnn_layer_fast(input, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh,
                                    weight_hr, None if batch_sizes is None else list(batch_sizes),
                                    code, bool(reverse), hidden_size)
    return y, h_n, (c_n if code == _C.LSTM else None)


rnn_layer_function.__name__ = rnn_layer_function.__qualname__ = "rnn_layer"


def _layer_weights(module, layer: int, suffix: str):
    """(w_ih, w_hh, b_ih, b_hh, w_hr) of one layer and direction, by torch's names."""
    get = lambda name: getattr(module, f"{name}_l{layer}{suffix}", None)  # noqa: E731
    return (get("weight_ih"), get("weight_hh"), get("bias_ih") if module.bias else None,
            get("bias_hh") if module.bias else None,
            get("weight_hr") if module.proj_size > 0 else None)


def _run_layers(module, x: Tensor, batch_sizes: Optional[List[int]], h0: Optional[Tensor],
                c0: Optional[Tensor]):
    """Every layer and direction of an RNNBase module over time-major (or packed) x.
    h0: (layers * directions, N, Hout) or None; c0 likewise (LSTM)."""
    code = MODES[module.mode]
    directions = 2 if module.bidirectional else 1
    hs, cs = [], []
    for layer in range(module.num_layers):
        outs = []
        for d in range(directions):
            k = layer * directions + d
            w_ih, w_hh, b_ih, b_hh, w_hr = _layer_weights(module, layer, "_reverse" if d else "")
            y, h_n, c_n, _ = rnn_layer_fast(
                x, None if h0 is None else h0[k], None if c0 is None else c0[k], w_ih, w_hh,
                b_ih, b_hh, w_hr, batch_sizes, code, bool(d), module.hidden_size)
            outs.append(y)
            hs.append(h_n)
            cs.append(c_n)
        x = outs[0] if directions == 1 else torch.cat(outs, -1)
        if module.dropout > 0 and module.training and layer + 1 < module.num_layers:
            x, _ = dropout_fast(x, float(module.dropout), draw_seed())
    return x, torch.stack(hs), (torch.stack(cs) if code == _C.LSTM else None)


def _rnn_forward(module, input, hx):
    """torch.nn.RNNBase.forward's contract (RNN, LSTM, GRU) on the layer op."""
    name = type(module).__name__
    lstm = module.mode == "LSTM"
    packed = isinstance(input, PackedSequence)
    if packed:
        input, batch_sizes_t, sorted_indices, unsorted_indices = input
        batch_sizes = batch_sizes_t.tolist()
        is_batched, batch_dim = True, 1
    else:
        batch_sizes_t = batch_sizes = sorted_indices = unsorted_indices = None
        if input.dim() not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D tensor instead")
        is_batched = input.dim() == 3
        batch_dim = 0 if module.batch_first else 1
        if not is_batched:
            input = input.unsqueeze(batch_dim)
    h0 = c0 = None
    if hx is not None:
        if lstm:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{name}: hx must be a tuple (h_0, c_0) of tensors")
            h0, c0 = hx
        else:
            if not isinstance(hx, Tensor):
                raise TypeError(f"{name}: hx must be a Tensor, got {type(hx).__name__}")
            h0 = hx
        want = 3 if is_batched else 2
        for t, what in ((h0, "h_0"), (c0, "c_0")):
            if t is not None and t.dim() != want:
                raise RuntimeError(
                    f"{name}: For {'batched' if is_batched else 'unbatched'} {input.dim()}-D "
                    f"input, {what} should also be {want}-D but got {t.dim()}-D tensor")
        if not is_batched:
            h0 = h0.unsqueeze(1)
            c0 = c0.unsqueeze(1) if c0 is not None else None
        if sorted_indices is not None:  # as torch: hx follows the caller's order
            h0 = h0.index_select(1, sorted_indices)
            c0 = c0.index_select(1, sorted_indices) if c0 is not None else None
        # torch's own shape checks, with torch's messages ("Expected hidden size ...").
        module.check_forward_args(input, (h0, c0) if lstm else h0, batch_sizes_t)
    else:
        module.check_input(input, batch_sizes_t)
    x = input
    if not packed and module.batch_first:
        x = x.transpose(0, 1)  # (T, N, I) view: the kernel takes the strides
    output, h_n, c_n = _run_layers(module, x, batch_sizes, h0, c0)
    if packed:
        output = PackedSequence(output, batch_sizes_t, sorted_indices, unsorted_indices)
        if unsorted_indices is not None:
            h_n = h_n.index_select(1, unsorted_indices)
            c_n = c_n.index_select(1, unsorted_indices) if c_n is not None else None
    else:
        if module.batch_first:
            output = output.transpose(0, 1).contiguous()  # torch returns it contiguous
        if not is_batched:
            output = output.squeeze(batch_dim)
            h_n = h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
    return output, ((h_n, c_n) if lstm else h_n)


class RNN(torch.nn.RNN):
    """torch.nn.RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False) on libkernels."""

    def forward(self, input, hx=None):
        return _rnn_forward(self, input, hx)

    def flatten_parameters(self) -> None:
        """Nothing to do: the kernels take each weight where it is."""


class LSTM(torch.nn.LSTM):
    """torch.nn.LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False, proj_size=0) on libkernels."""

    def forward(self, input, hx=None):
        return _rnn_forward(self, input, hx)

    def flatten_parameters(self) -> None:
        """Nothing to do: the kernels take each weight where it is."""


class GRU(torch.nn.GRU):
    """torch.nn.GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False) on libkernels."""

    def forward(self, input, hx=None):
        return _rnn_forward(self, input, hx)

    def flatten_parameters(self) -> None:
        """Nothing to do: the kernels take each weight where it is."""


def _cell_forward(module, mode: str, input: Tensor, hx):
    """One step of an RNNCell / LSTMCell / GRUCell: the layer op with T = 1."""
    name = type(module).__name__
    lstm = mode == "LSTM"
    if input.dim() not in (1, 2):
        raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
    is_batched = input.dim() == 2
    h0 = c0 = None
    if hx is not None:
        h0, c0 = hx if lstm else (hx, None)
        want = 2 if is_batched else 1
        for t, what in ((h0, "hx[0]" if lstm else "hx"), (c0, "hx[1]")):
            if t is not None and t.dim() != want:
                raise ValueError(f"{name}: Expected {what} to be {want}D, got {t.dim()}D instead")
    if not is_batched:
        input = input.unsqueeze(0)
        h0 = h0.unsqueeze(0) if h0 is not None else None
        c0 = c0.unsqueeze(0) if c0 is not None else None
    if input.shape[1] != module.input_size:
        raise RuntimeError(f"{name}: input has inconsistent input_size: got {input.shape[1]} "
                           f"expected {module.input_size}")
    for t, what in ((h0, "hidden"), (c0, "cell state")):
        if t is not None and (t.shape[0] != input.shape[0] or t.shape[1] != module.hidden_size):
            raise RuntimeError(f"{name}: {what} has shape {tuple(t.shape)}, expected "
                               f"({input.shape[0]}, {module.hidden_size})")
    _, h_n, c_n, _ = rnn_layer_fast(input.unsqueeze(0), h0, c0, module.weight_ih,
                                    module.weight_hh, module.bias_ih, module.bias_hh, None, None,
                                    MODES[mode], False, module.hidden_size)
    if not is_batched:
        h_n = h_n.squeeze(0)
        c_n = c_n.squeeze(0) if lstm else c_n
    return (h_n, c_n) if lstm else h_n


class RNNCell(torch.nn.RNNCell):
    """torch.nn.RNNCell(input_size, hidden_size, bias=True, nonlinearity='tanh') on libkernels."""

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return _cell_forward(self, "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU",
                             input, hx)


class LSTMCell(torch.nn.LSTMCell):
    """torch.nn.LSTMCell(input_size, hidden_size, bias=True) on libkernels."""

    def forward(self, input: Tensor, hx=None):
        return _cell_forward(self, "LSTM", input, hx)


class GRUCell(torch.nn.GRUCell):
    """torch.nn.GRUCell(input_size, hidden_size, bias=True) on libkernels."""

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        return _cell_forward(self, "GRU", input, hx)


class RNNLayerFunction(torch.autograd.Function):
    """(y, h_n, c_n, reserve) of one recurrent layer in one direction (rnn_layer above)."""

    @staticmethod
    def forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes, mode, reverse, hidden_size):
        return rnn_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes, mode, reverse,
                         hidden_size)

    setup_context = staticmethod(setup_context)
    backward = staticmethod(backward)


_registry.add("rnn", functional=rnn_layer_function, module=RNN, function=RNNLayerFunction)
_registry.add("lstm", module=LSTM)
_registry.add("gru", module=GRU)
_registry.add("rnn_cell", module=RNNCell)
_registry.add("lstm_cell", module=LSTMCell)
_registry.add("gru_cell", module=GRUCell)
