// Validation shared by the class-index losses (capi/nll_loss.cpp,
// capi/cross_entropy.cpp): params, input/target agreement, weight, the
// reduced outputs. (Written for softmax and losses.)
#pragma once

#include <cmath>
#include <string>

#include "capi/validate.hpp"
#include "kernels/nll_loss.h"

namespace kn::capi {

// p not NULL, reduction known, label_smoothing in [0, 1] (exactly 0 unless
// smoothing is allowed).
inline const kn_cross_entropy_params& check_params(OpValidator& v,
                                                   const kn_cross_entropy_params* p,
                                                   bool smoothing_allowed) {
  v.require(p != nullptr, KN_ERR_INVALID_ARGUMENT, "p: must not be NULL");
  v.expect_range(p->reduction, "p->reduction", KN_REDUCTION_NONE, KN_REDUCTION_SUM);
  if (smoothing_allowed)
    v.require(p->label_smoothing >= 0.0 && p->label_smoothing <= 1.0, KN_ERR_INVALID_ARGUMENT,
              "p->label_smoothing: expected a value in [0, 1], got ", p->label_smoothing);
  else
    v.require(p->label_smoothing == 0.0, KN_ERR_INVALID_ARGUMENT,
              "p->label_smoothing: must be 0 for nll_loss, got ", p->label_smoothing);
  return *p;
}

// input (N, C, d1..dk) or (C,), named `input_name`; target = input's shape
// without the class dim. Returns C.
inline int64_t check_input_target(OpValidator& v, const kn_tensor& input, const char* input_name,
                                  const kn_tensor& target) {
  v.require(input.ndim >= 1, KN_ERR_SHAPE_MISMATCH, input_name,
            ": expected shape (N, C, d1, ..., dk) or (C,), got a 0-d tensor");
  const int cd = input.ndim == 1 ? 0 : 1;
  bool ok = target.ndim == input.ndim - 1;
  std::string want = "(";
  for (int d = 0, k = 0; d < input.ndim; ++d) {
    if (d == cd) continue;
    want += (k ? ", " : "") + std::to_string(input.shape[d]);
    ok = ok && target.shape[k] == input.shape[d];
    ++k;
  }
  want += input.ndim == 2 ? ",)" : ")";
  v.require(ok, KN_ERR_SHAPE_MISMATCH, "target: expected shape ", want, " (", input_name, " ",
            shape_string(input), " without its class dim ", cd, "), got ", shape_string(target));
  return input.shape[cd];
}

// weight: (C,) or NULL.
inline const kn_tensor* check_weight(OpValidator& v, const kn_tensor* weight, int64_t classes) {
  const kn_tensor* w = v.optional_input(weight, "weight", 1);
  if (w) v.expect_shape(*w, "weight", {{classes, "C from the class dim"}});
  return w;
}

// out / dout: target's shape for NONE, else 0-d.
inline void check_reduced(OpValidator& v, int32_t reduction, const kn_tensor& target,
                          const kn_tensor& t, const char* name) {
  if (reduction == KN_REDUCTION_NONE)
    v.same_shape(target, "target", t, name);
  else
    v.expect_shape(t, name, {});
}

}  // namespace kn::capi
