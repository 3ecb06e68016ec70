// The kernels of adaptive_pool2d: kernels/cpu/adaptive_pool2d.cpp and
// kernels/cuda/adaptive_pool2d.cu, called by capi/adaptive_pool2d.cpp after validation
// (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/adaptive_pool2d.h"
#include "kernels/context.hpp"

#define KN_ADAPTIVE_POOL2D_KERNELS(Context)                                                     \
  /* x:(N,C,H,W) -> y:(N,C,Ho,Wo) */                                                           \
  void adaptive_avg_pool2d_forward(const kn_tensor& x, const kn_tensor& y, const Context& ctx); \
  /* dy:(N,C,Ho,Wo) -> dx:(N,C,H,W) */                                                         \
  void adaptive_avg_pool2d_backward(const kn_tensor& dy, const kn_tensor& dx,                   \
                                    const Context& ctx);                                        \
  /* x:(N,C,H,W) -> y, indices:(N,C,Ho,Wo) */                                                  \
  void adaptive_max_pool2d_forward(const kn_tensor& x, const kn_tensor& y,                      \
                                   const kn_tensor& indices, const Context& ctx);               \
  /* dy, indices:(N,C,Ho,Wo) -> dx:(N,C,H,W) */                                                \
  void adaptive_max_pool2d_backward(const kn_tensor& dy, const kn_tensor& indices,              \
                                    const kn_tensor& dx, const Context& ctx);

KN_DECLARE_KERNELS(KN_ADAPTIVE_POOL2D_KERNELS)
