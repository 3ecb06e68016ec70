// pykernels._jax_ffi: the rnn targets (kernels/rnn.h; Python: pykernels/jax/ops/rnn.py).
// One layer, one direction, padded x (T, N, I) only: packed sequences (host
// batch_sizes) have no JAX counterpart; variable lengths are masks there.
#include "jax_ffi/common.hpp"
#include "kernels/rnn.h"

namespace {
kn_rnn_params params_of(knjax::Call& c) {
  kn_rnn_params p{};
  p.mode = static_cast<int32_t>(c.i64("mode"));
  p.reverse = c.flag("reverse");
  p.hidden_size = c.i64("hidden_size");
  p.proj_size = c.i64("proj_size");
  p.batch_sizes = nullptr;  // padded
  return p;
}
}  // namespace

// in: x, h0?, c0?, w_ih, w_hh, b_ih?, b_hh?, w_hr? -> out: y, h_n, c_n?, reserve
KN_JAX_TARGET(rnn_forward) {
  const kn_rnn_params p = params_of(c);
  return kn_rnn_forward(&p, c.in(0), c.in(1), c.in(2), c.in(3), c.in(4), c.in(5), c.in(6), c.in(7),
                        c.out(0), c.out(1), c.out(2), c.out(3), c.exec());
}

// in: x?, w_ih, w_hh, w_hr?, reserve, dy, dh_n, dc_n?
// out: dx?, dh0?, dc0?, dw_ih, dw_hh, db_ih?, db_hh?, dw_hr?, workspace (CUDA scratch)
KN_JAX_TARGET(rnn_backward) {
  const kn_rnn_params p = params_of(c);
  return kn_rnn_backward(&p, c.in(0), c.in(1), c.in(2), c.in(3), c.in(4), c.in(5), c.in(6), c.in(7),
                         c.out(0), c.out(1), c.out(2), c.out(3), c.out(4), c.out(5), c.out(6),
                         c.out(7), c.exec_with_workspace(8));
}
