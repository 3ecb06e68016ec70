// pykernels._C: the group_norm bindings (kn_group_norm_forward / _backward of kernels/group_norm.h).
#include "bindings/norm_ops.hpp"
#include "kernels/group_norm.h"

using namespace knpy;

KN_BINDINGS(group_norm) {
  def_norm_ops<kn_group_norm_params, int64_t>(
      m,
      {"group_norm_forward", "group_norm_backward", "kn_group_norm_forward", "kn_group_norm_backward",
       "num_groups",
       "x:(N,C,*), weight, bias:(C,) or None -> "
       "y:(N,C,*), mean, rstd:(N,G), written in place.",
       "dy, x:(N,C,*), weight or None, mean, rstd:(N,G) -> dx, dweight, dbias (each None = "
       "not needed), written in place."},
      kn_group_norm_forward, kn_group_norm_backward);
}
