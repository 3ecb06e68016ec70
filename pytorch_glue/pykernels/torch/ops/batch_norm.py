"""batch_norm: the custom ops ``pykernels::batch_norm`` and ``pykernels::batch_norm_backward``,
and the public API built on them (exported by pykernels.torch through _registry):

    functional.batch_norm(input, running_mean, running_var, weight=None, bias=None,
                          training=False, momentum=0.1, eps=1e-5)
                                       like torch.nn.functional.batch_norm
    nn.BatchNorm1d / nn.BatchNorm2d / nn.BatchNorm3d
                                       subclasses of torch's classes overriding forward only
                                       (same buffers, state_dict keys, momentum=None as the
                                       cumulative average, affine, track_running_stats)
    autograd.BatchNormFunction.apply(input, weight, bias, running_mean, running_var,
                                     training, momentum, eps) -> (y, save_mean, save_invstd)
        (the running stats are read, never updated: that is the functional's job)

    batch_norm(input:(N,C,*), weight?, bias?, running_mean?, running_var?, training,
               momentum, eps) -> (y, save_mean:(C), save_invstd:(C), new_running_mean,
                                  new_running_var)
        functional (torch.library cannot give a mutating op an autograd formula): in
        training with running stats, the last two are the updated stats (momentum is
        torch's exponential_average_factor, the variance stored the unbiased batch
        variance), which functional.batch_norm copies into the buffers; else 0-element.
        In eval mode save_mean / save_invstd are the running mean and 1/sqrt(running_var+eps).
    batch_norm_backward(grad_output, input, weight?, save_mean, save_invstd, training,
                        need_input, need_weight, need_bias) -> (grad_input, grad_weight,
        grad_bias), a 0-element tensor for each one not needed.

y (and grad_input) have input's layout where input is dense (channels_last stays
channels_last, and the kernel reads it in place). ``batch_norm_fast`` /
``batch_norm_backward_fast`` skip the dispatcher in plain eager mode (_glue.fast_path);
compile, export and opcheck see the ops. Double backward is not supported.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

from ... import _C, _shape_error
from .. import _registry
from .._glue import call, empty, empty_like, fast_path, mark_non_differentiable, none_output

# ------------------------------------------------------------------ forward
#
# torch.library cannot register an autograd formula for an op that mutates its
# arguments, so the forward op is functional: it returns the updated running stats
# (new tensors) and functional_batch_norm copies them into the buffers (under no_grad; the
# copy_ bumps their version counters as an in-place op does, and torch.compile traces it).


def _check_input(input: Tensor, op: str) -> None:
    if not isinstance(input, torch.Tensor):
        raise TypeError(f"{op}: input: expected a torch.Tensor, got {type(input).__name__}")
    if input.dim() < 2:
        raise _shape_error(f"{op}: input: expected (N, C, *) with at least 2 dims, got shape "
                           f"{tuple(input.shape)}")


def _updates(running: Optional[Tensor], input: Tensor, training: bool) -> Tensor:
    """The output that receives an updated running stat: a (C) tensor in training with
    running stats, else a 0-element placeholder."""
    if training and running is not None:
        return empty((input.shape[1],), like=input)
    return none_output(input)


def _batch_norm_outputs(input: Tensor, weight: Optional[Tensor], bias: Optional[Tensor],
                        running_mean: Optional[Tensor], running_var: Optional[Tensor],
                        training: bool, momentum: float, eps: float
                        ) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    _check_input(input, "pykernels::batch_norm")
    C = input.shape[1]
    return (empty_like(input), empty((C,), like=input), empty((C,), like=input),
            _updates(running_mean, input, training), _updates(running_var, input, training))


def _batch_norm(input: Tensor, weight: Optional[Tensor], bias: Optional[Tensor],
                running_mean: Optional[Tensor], running_var: Optional[Tensor], training: bool,
                momentum: float, eps: float) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """(y, save_mean, save_invstd, new_running_mean, new_running_var); the last two are
    0-element tensors unless training with running stats (the inputs are not written)."""
    y, save_mean, save_invstd, new_rm, new_rv = _batch_norm_outputs(
        input, weight, bias, running_mean, running_var, training, momentum, eps)
    rm, rv = running_mean, running_var
    if training and running_mean is not None:
        ok = all(r is not None and r.shape == n.shape and r.dtype == n.dtype
                 and r.device == n.device for r, n in ((running_mean, new_rm),
                                                       (running_var, new_rv)))
        if ok:  # else the library refuses the originals (and names them)
            new_rm.copy_(running_mean)
            new_rv.copy_(running_var)
            rm, rv = new_rm, new_rv
    call(_C.batch_norm_forward, "pykernels::batch_norm", bool(training), float(momentum),
         float(eps), x=input, weight=weight, bias=bias, running_mean=rm, running_var=rv, y=y,
         save_mean=save_mean, save_invstd=save_invstd)
    return y, save_mean, save_invstd, new_rm, new_rv


batch_norm = torch.library.custom_op("pykernels::batch_norm", mutates_args=())(_batch_norm)
batch_norm.register_fake(_batch_norm_outputs)

# ----------------------------------------------------------------- backward


def _batch_norm_backward_outputs(grad_output: Tensor, input: Tensor, weight: Optional[Tensor],
                                 save_mean: Tensor, save_invstd: Tensor, training: bool,
                                 need_input: bool, need_weight: bool, need_bias: bool
                                 ) -> Tuple[Tensor, Tensor, Tensor]:
    _check_input(input, "pykernels::batch_norm_backward")
    C = input.shape[1]
    return (empty_like(input) if need_input else none_output(input),
            empty((C,), like=input) if need_weight else none_output(input),
            empty((C,), like=input) if need_bias else none_output(input))


def _batch_norm_backward(grad_output: Tensor, input: Tensor, weight: Optional[Tensor],
                         save_mean: Tensor, save_invstd: Tensor, training: bool,
                         need_input: bool, need_weight: bool, need_bias: bool
                         ) -> Tuple[Tensor, Tensor, Tensor]:
    """(grad_input, grad_weight, grad_bias) from the forward's save_mean / save_invstd;
    a 0-element tensor for each one not needed."""
    dx, dw, db = _batch_norm_backward_outputs(grad_output, input, weight, save_mean, save_invstd,
                                              training, need_input, need_weight, need_bias)
    call(_C.batch_norm_backward, "pykernels::batch_norm_backward", bool(training),
         dy=grad_output, x=input, weight=weight, save_mean=save_mean, save_invstd=save_invstd,
         dx=dx if need_input else None, dweight=dw if need_weight else None,
         dbias=db if need_bias else None)
    return dx, dw, db


batch_norm_backward = torch.library.custom_op("pykernels::batch_norm_backward",
                                              mutates_args=())(_batch_norm_backward)
batch_norm_backward.register_fake(_batch_norm_backward_outputs)
batch_norm_backward_fast = fast_path(batch_norm_backward, _batch_norm_backward)

# ----------------------------------------------------------------- autograd


def batch_norm_setup_context(ctx, inputs, output) -> None:
    """Save input, weight and the statistics only when a gradient is needed."""
    input, weight = inputs[0], inputs[1]
    ctx.training = bool(inputs[5])
    _, save_mean, save_invstd, new_rm, new_rv = output
    mark_non_differentiable(ctx, save_mean, save_invstd, new_rm, new_rv)
    need = ctx.needs_input_grad
    if need[0] or need[1] or need[2]:
        ctx.save_for_backward(input, weight, save_mean, save_invstd)


def batch_norm_grad(ctx, grad_output: Tensor, *_non_differentiable):
    need = ctx.needs_input_grad
    nones = (None,) * 5
    if not (need[0] or need[1] or need[2]) or grad_output is None:  # None: mark_non_differentiable
        return (None, None, None) + nones
    input, weight, save_mean, save_invstd = ctx.saved_tensors
    need_w = bool(need[1]) and weight is not None
    dx, dw, db = batch_norm_backward_fast(grad_output, input, weight, save_mean, save_invstd,
                                          ctx.training, bool(need[0]), need_w, bool(need[2]))
    return (dx if need[0] else None, dw if need_w else None, db if need[2] else None) + nones


batch_norm.register_autograd(batch_norm_grad, setup_context=batch_norm_setup_context)


batch_norm_fast = fast_path(batch_norm, _batch_norm, batch_norm_setup_context, batch_norm_grad)


def _batch_norm_update(input, weight, bias, running_mean, running_var, training, momentum, eps):
    """batch_norm_fast, then the updated running stats copied into running_mean and
    running_var (training only); returns y, save_mean, save_invstd."""
    y, save_mean, save_invstd, new_rm, new_rv = batch_norm_fast(
        input, weight, bias, running_mean, running_var, training, momentum, eps)
    if training and running_mean is not None and running_var is not None:
        with torch.no_grad():
            running_mean.copy_(new_rm)
            running_var.copy_(new_rv)
    return y, save_mean, save_invstd


# ------------------------------------------------------------- public API


def functional_batch_norm(input: Tensor, running_mean: Optional[Tensor],
                          running_var: Optional[Tensor], weight: Optional[Tensor] = None,
                          bias: Optional[Tensor] = None, training: bool = False,
                          momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Like torch.nn.functional.batch_norm: per channel (dim 1) of input (N, C, *),
    (input - mean) / sqrt(var + eps) * weight + bias, with the batch's statistics in
    training (the running stats, when given, updated in place: momentum, unbiased
    variance) and the running stats otherwise."""
    if training:
        size = input.size()
        size_prods = size[0]
        for i in range(len(size) - 2):
            size_prods *= size[i + 2]
        if size_prods == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {size}")
    momentum = 0.0 if momentum is None else float(momentum)
    return _batch_norm_update(input, weight, bias, running_mean, running_var, bool(training),
                              momentum, float(eps))[0]


functional_batch_norm.__name__ = functional_batch_norm.__qualname__ = "batch_norm"


def _forward(self, input: Tensor) -> Tensor:
    """torch's _BatchNorm.forward, on pykernels' batch_norm."""
    self._check_input_dim(input)
    exponential_average_factor = 0.0 if self.momentum is None else self.momentum
    if self.training and self.track_running_stats:
        if self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative moving average
                exponential_average_factor = 1.0 / float(self.num_batches_tracked)
            else:
                exponential_average_factor = self.momentum
    if self.training:
        bn_training = True
    else:
        bn_training = (self.running_mean is None) and (self.running_var is None)
    track = not self.training or self.track_running_stats
    return functional_batch_norm(input, self.running_mean if track else None,
                                 self.running_var if track else None, self.weight, self.bias,
                                 bn_training, exponential_average_factor, self.eps)


class BatchNorm1d(torch.nn.BatchNorm1d):
    """torch.nn.BatchNorm1d(num_features, eps=1e-5, momentum=0.1, affine=True,
    track_running_stats=True, device=None, dtype=None) on libkernels: input (N, C) or
    (N, C, L)."""

    forward = _forward


class BatchNorm2d(torch.nn.BatchNorm2d):
    """torch.nn.BatchNorm2d(num_features, eps=1e-5, momentum=0.1, affine=True,
    track_running_stats=True, device=None, dtype=None) on libkernels: input (N, C, H, W),
    contiguous or channels_last (read in place)."""

    forward = _forward


class BatchNorm3d(torch.nn.BatchNorm3d):
    """torch.nn.BatchNorm3d(num_features, eps=1e-5, momentum=0.1, affine=True,
    track_running_stats=True, device=None, dtype=None) on libkernels: input (N, C, D, H, W)."""

    forward = _forward


class BatchNormFunction(torch.autograd.Function):
    """(y, save_mean, save_invstd) of batch norm over dim 1 of input (N, C, *); gradients
    for input, weight and bias (save_mean / save_invstd are not differentiable). The
    running stats (or None) are updated in place in training."""

    @staticmethod
    def forward(input: Tensor, weight: Optional[Tensor], bias: Optional[Tensor],
                running_mean: Optional[Tensor], running_var: Optional[Tensor],
                training: bool = True, momentum: float = 0.1, eps: float = 1e-5):
        return batch_norm(input, weight, bias, running_mean, running_var, training, momentum,
                          eps)[:3]

    @staticmethod
    def setup_context(ctx, inputs, output):
        y, save_mean, save_invstd = output
        empty = save_mean.new_empty((0,))
        batch_norm_setup_context(ctx, inputs, (y, save_mean, save_invstd, empty, empty))

    backward = staticmethod(batch_norm_grad)


_registry.add("batch_norm", functional=functional_batch_norm, module=BatchNorm2d,
              function=BatchNormFunction)
_registry.add("batch_norm1d", module=BatchNorm1d)
_registry.add("batch_norm3d", module=BatchNorm3d)
