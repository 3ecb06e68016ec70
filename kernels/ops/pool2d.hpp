// The kernels of pool2d: kernels/cpu/pool2d.cpp and kernels/cuda/pool2d.cu, called by
// capi/pool2d.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/pool2d.h"

#define KN_POOL2D_KERNELS(Context)                                                              \
  /* x:(N,C,H,W) -> y, indices:(N,C,Ho,Wo) */                                                   \
  void max_pool2d_forward(const kn_max_pool2d_params& p, const kn_tensor& x,                    \
                          const kn_tensor& y, const kn_tensor& indices, const Context& ctx);    \
  /* dy, indices:(N,C,Ho,Wo) -> dx:(N,C,H,W) */                                                 \
  void max_pool2d_backward(const kn_max_pool2d_params& p, const kn_tensor& dy,                  \
                           const kn_tensor& indices, const kn_tensor& dx, const Context& ctx);  \
  /* x:(N,C,H,W) -> y:(N,C,Ho,Wo) */                                                            \
  void avg_pool2d_forward(const kn_avg_pool2d_params& p, const kn_tensor& x,                    \
                          const kn_tensor& y, const Context& ctx);                              \
  /* dy:(N,C,Ho,Wo) -> dx:(N,C,H,W) */                                                          \
  void avg_pool2d_backward(const kn_avg_pool2d_params& p, const kn_tensor& dy,                  \
                           const kn_tensor& dx, const Context& ctx);

KN_DECLARE_KERNELS(KN_POOL2D_KERNELS)
