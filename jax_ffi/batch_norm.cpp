// pykernels._jax_ffi: the batch_norm targets (kernels/batch_norm.h; Python: pykernels/jax/ops/batch_norm.py).
#include "jax_ffi/common.hpp"
#include "kernels/batch_norm.h"

// The attributes eps, momentum (floats), training (bool).
static kn_batch_norm_params batch_norm_params(knjax::Call& c) {
  kn_batch_norm_params p{};
  p.eps = c.f64("eps");
  p.momentum = c.f64("momentum");
  p.training = c.flag("training");
  return p;
}

// in: x (N,C,*), weight (C) or absent, bias (C) or absent, running_mean (C) or absent,
//     running_var (C) or absent
// -> out: y (N,C,*), save_mean (C), save_invstd (C), new_running_mean (C) or absent,
//         new_running_var (C) or absent
// The kernel updates the running statistics in place: pykernels.jax aliases operand 3 to
// result 3 and operand 4 to result 4 (ffi_call's input_output_aliases), so results 3 and 4
// start as copies of the given running stats and are passed as the in/out tensors. In eval
// mode the running stats are read only: they are passed as the operands, without results.
KN_JAX_TARGET(batch_norm_forward) {
  const kn_batch_norm_params p = batch_norm_params(c);
  const bool updated = p.training && c.out(3) != nullptr;
  return kn_batch_norm_forward(&p, c.in(0), c.in(1), c.in(2), updated ? c.out(3) : c.in(3),
                               updated ? c.out(4) : c.in(4), c.out(0), c.out(1), c.out(2),
                               c.exec());
}

// in: dy, x (N,C,*), weight (C) or absent, save_mean, save_invstd (C)
// -> out: dx (N,C,*), dweight (C), dbias (C), each may be absent
KN_JAX_TARGET(batch_norm_backward) {
  const kn_batch_norm_params p = batch_norm_params(c);
  return kn_batch_norm_backward(&p, c.in(0), c.in(1), c.in(2), c.in(3), c.in(4), c.out(0),
                                c.out(1), c.out(2), c.exec());
}
