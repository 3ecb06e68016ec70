// pykernels._C: the layer_norm bindings (kn_layer_norm_forward / _backward of kernels/layer_norm.h).
#include "bindings/norm_ops.hpp"
#include "kernels/layer_norm.h"

using namespace knpy;

KN_BINDINGS(layer_norm) {
  def_norm_ops<kn_layer_norm_params, int32_t>(
      m,
      {"layer_norm_forward", "layer_norm_backward", "kn_layer_norm_forward", "kn_layer_norm_backward",
       "normalized_ndim",
       "x:(*lead, *norm) (k = normalized_ndim trailing dims), weight, bias:(*norm) or None -> "
       "y:(*lead, *norm), mean, rstd:(*lead), written in place.",
       "dy, x:(*lead, *norm), weight or None, mean, rstd:(*lead) -> dx, dweight, dbias (each None = "
       "not needed), written in place."},
      kn_layer_norm_forward, kn_layer_norm_backward);
}
