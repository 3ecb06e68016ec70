// pykernels._jax_ffi: the conv2d targets (kernels/conv2d.h; Python: pykernels/jax/ops/conv2d.py).
#include "jax_ffi/common.hpp"
#include "kernels/conv2d.h"

// The attributes stride_h/_w, pad_h/_w (symmetric zero padding), dil_h/_w, groups.
static kn_conv2d_params conv2d_params(knjax::Call& c) {
  kn_conv2d_params p{};
  c.hw("stride", p.stride);
  c.hw("pad", p.padding);
  c.hw("dil", p.dilation);
  p.groups = c.i64("groups");
  return p;
}

// in: x (N,C,H,W), w (O,C/groups,kH,kW), b (O) or absent -> out: y (N,O,Ho,Wo)
KN_JAX_TARGET(conv2d_forward) {
  const kn_conv2d_params p = conv2d_params(c);
  return kn_conv2d_forward(&p, c.in(0), c.in(1), c.in(2), c.out(0), c.exec());
}

// in: dy (N,O,Ho,Wo), x (absent without dw), w (absent without dx)
// -> out: dx (N,C,H,W), dw (O,C/groups,kH,kW), db (O), each may be absent
KN_JAX_TARGET(conv2d_backward) {
  const kn_conv2d_params p = conv2d_params(c);
  return kn_conv2d_backward(&p, c.in(0), c.in(1), c.in(2), c.out(0), c.out(1), c.out(2),
                            c.exec());
}
