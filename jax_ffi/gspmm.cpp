// pykernels._jax_ffi: the graph targets (kernels/gspmm.h; Python: pykernels/jax/ops/gspmm.py).
#include "jax_ffi/common.hpp"
#include "kernels/gspmm.h"

// kn_gspmm_params from the attributes message, reduce (kn_gspmm_* codes) and
// skip_index_check.
static kn_gspmm_params gspmm_params(::knjax::Call& c) {
  kn_gspmm_params p{};
  p.message = static_cast<int32_t>(c.i64("message"));
  p.reduce = static_cast<int32_t>(c.i64("reduce"));
  p.skip_index_check = c.flag("skip_index_check");
  return p;
}

// in: indptr (num_dst+1), indices (E) -> out: t_indptr (num_src+1), t_indices (E), t_edge_ids (E)
KN_JAX_TARGET(csr_transpose) {
  return kn_csr_transpose(c.in(0), c.in(1), c.out(0), c.out(1), c.out(2), c.exec());
}

// in: indptr, indices, edge_values (E) or absent, x (num_src,F)
// -> out: y (num_dst,F), arg (num_dst,F) for max/min or absent
KN_JAX_TARGET(gspmm_forward) {
  const kn_gspmm_params p = gspmm_params(c);
  return kn_gspmm_forward(&p, c.in(0), c.in(1), c.in(2), c.in(3), c.out(0), c.out(1), c.exec());
}

// in: dy (num_dst,F), indptr, indices, t_indptr, t_indices, t_edge_ids (absent without dx),
//     edge_values (u_mul_e), x (for dedge), arg (max/min); each may be absent
// -> out: dx (num_src,F), dedge (E); each may be absent
KN_JAX_TARGET(gspmm_backward) {
  const kn_gspmm_params p = gspmm_params(c);
  return kn_gspmm_backward(&p, c.in(0), c.in(1), c.in(2), c.in(3), c.in(4), c.in(5), c.in(6),
                           c.in(7), c.in(8), c.out(0), c.out(1), c.exec());
}
