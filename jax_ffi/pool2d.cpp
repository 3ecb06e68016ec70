// pykernels._jax_ffi: the pool2d targets (kernels/pool2d.h; Python: pykernels/jax/ops/pool2d.py).
#include "jax_ffi/common.hpp"
#include "kernels/pool2d.h"

// The attributes k_h/_w, stride_h/_w, pad_h/_w (symmetric, implicit -inf),
// dil_h/_w, ceil_mode.
static kn_max_pool2d_params max_params(knjax::Call& c) {
  kn_max_pool2d_params p{};
  c.hw("k", p.kernel_size);
  c.hw("stride", p.stride);
  c.hw("pad", p.padding);
  c.hw("dil", p.dilation);
  p.ceil_mode = c.flag("ceil_mode");
  return p;
}

// The attributes k_h/_w, stride_h/_w, pad_h/_w (symmetric zeros), ceil_mode,
// count_include_pad, divisor_override (0 = none).
static kn_avg_pool2d_params avg_params(knjax::Call& c) {
  kn_avg_pool2d_params p{};
  c.hw("k", p.kernel_size);
  c.hw("stride", p.stride);
  c.hw("pad", p.padding);
  p.ceil_mode = c.flag("ceil_mode");
  p.count_include_pad = c.flag("count_include_pad");
  p.divisor_override = c.i64("divisor_override");
  return p;
}

// in: x (N,C,H,W) -> out: y (N,C,Ho,Wo), indices (N,C,Ho,Wo) int32/int64 (flat h*W + w)
KN_JAX_TARGET(max_pool2d_forward) {
  const kn_max_pool2d_params p = max_params(c);
  return kn_max_pool2d_forward(&p, c.in(0), c.out(0), c.out(1), c.exec());
}

// in: dy (N,C,Ho,Wo), indices (N,C,Ho,Wo) -> out: dx (N,C,H,W)
KN_JAX_TARGET(max_pool2d_backward) {
  const kn_max_pool2d_params p = max_params(c);
  return kn_max_pool2d_backward(&p, c.in(0), c.in(1), c.out(0), c.exec());
}

// in: x (N,C,H,W) -> out: y (N,C,Ho,Wo)
KN_JAX_TARGET(avg_pool2d_forward) {
  const kn_avg_pool2d_params p = avg_params(c);
  return kn_avg_pool2d_forward(&p, c.in(0), c.out(0), c.exec());
}

// in: dy (N,C,Ho,Wo) -> out: dx (N,C,H,W)
KN_JAX_TARGET(avg_pool2d_backward) {
  const kn_avg_pool2d_params p = avg_params(c);
  return kn_avg_pool2d_backward(&p, c.in(0), c.out(0), c.exec());
}
