// The kernels of group_norm: kernels/cpu/group_norm.cpp and kernels/cuda/group_norm.cu, called by
// capi/group_norm.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/group_norm.h"

#define KN_GROUP_NORM_KERNELS(Context)                                                        \
  /* x, y:(N,C,*), weight, bias:(C) or null, mean, rstd:(N,G) */ \
  void group_norm_forward(const kn_group_norm_params& p, const kn_tensor& x,                  \
                          const kn_tensor* weight, const kn_tensor* bias, const kn_tensor& y,  \
                          const kn_tensor& mean, const kn_tensor& rstd, const Context& ctx);   \
  /* dy, x:(N,C,*), weight or null, mean, rstd:(N,G) -> dx, dweight, dbias (each or null) */  \
  void group_norm_backward(const kn_group_norm_params& p, const kn_tensor& dy,                 \
                           const kn_tensor& x, const kn_tensor* weight, const kn_tensor& mean, \
                           const kn_tensor& rstd, const kn_tensor* dx, const kn_tensor* dweight, \
                           const kn_tensor* dbias, const Context& ctx);

KN_DECLARE_KERNELS(KN_GROUP_NORM_KERNELS)
