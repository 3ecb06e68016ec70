// The kernels of gelu: kernels/cpu/gelu.cpp and kernels/cuda/gelu.cu, called by
// capi/gelu.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/gelu.h"

#define KN_GELU_KERNELS(Context)                                                             \
  /* x, y: same shape (y may be x) */                                                        \
  void gelu_forward(kn_gelu_approximate approximate, const kn_tensor& x,                     \
                    const kn_tensor& y, const Context& ctx);                                 \
  /* dy, x, dx: same shape (dx may be dy) */                                                 \
  void gelu_backward(kn_gelu_approximate approximate, const kn_tensor& dy,                   \
                     const kn_tensor& x, const kn_tensor& dx, const Context& ctx);

KN_DECLARE_KERNELS(KN_GELU_KERNELS)
