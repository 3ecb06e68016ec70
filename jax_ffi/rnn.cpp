// pykernels._jax_ffi: the recurrent-layer targets (kernels/rnn.h; Python: pykernels/jax/ops/rnn.py).
// Padded (time-major) sequences only: batch_sizes is NULL.
#include "jax_ffi/common.hpp"
#include "kernels/rnn.h"

// kn_rnn_params from the attributes mode (kn_rnn_mode), reverse, hidden_size, proj_size.
static kn_rnn_params rnn_params(::knjax::Call& c) {
  kn_rnn_params p{};
  p.mode = static_cast<int32_t>(c.i64("mode"));
  p.reverse = c.flag("reverse");
  p.hidden_size = c.i64("hidden_size");
  p.proj_size = c.i64("proj_size");
  p.batch_sizes = nullptr;
  return p;
}

// in: x (T,N,I), h0 (N,Hout), c0 (N,H), w_ih (GH,I), w_hh (GH,Hout), b_ih, b_hh (GH), w_hr (P,H)
//     (h0, c0, biases, w_hr may be absent)
// -> out: y (T,N,Hout), h_n (N,Hout), c_n (N,H; LSTM, else absent), reserve (T N, reserve_cols)
KN_JAX_TARGET(rnn_forward) {
  const kn_rnn_params p = rnn_params(c);
  return kn_rnn_forward(&p, c.in(0), c.in(1), c.in(2), c.in(3), c.in(4), c.in(5), c.in(6), c.in(7),
                        c.out(0), c.out(1), c.out(2), c.out(3), c.exec());
}

// in: x, w_ih, w_hh, w_hr (or absent), reserve, dy, dh_n, dc_n (or absent)
// -> out: dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, dw_hr (each may be absent),
//         workspace (uint8, kn_rnn_backward_workspace_size bytes; absent on the CPU)
KN_JAX_TARGET(rnn_backward) {
  const kn_rnn_params p = rnn_params(c);
  c.workspace_from_out(8);
  return kn_rnn_backward(&p, c.in(0), c.in(1), c.in(2), c.in(3), c.in(4), c.in(5), c.in(6),
                         c.in(7), c.out(0), c.out(1), c.out(2), c.out(3), c.out(4), c.out(5),
                         c.out(6), c.out(7), c.exec());
}
