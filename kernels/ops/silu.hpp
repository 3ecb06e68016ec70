// The kernels of silu: kernels/cpu/silu.cpp and kernels/cuda/silu.cu, called by
// capi/silu.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/silu.h"

#define KN_SILU_KERNELS(Context)                                                       \
  /* x, y: one shape (y may be x) */                                                    \
  void silu_forward(const kn_tensor& x, const kn_tensor& y,               \
                      const Context& ctx);                                              \
  /* dy, x, dx: one shape (dx may be dy) */                                      \
  void silu_backward(const kn_tensor& dy, const kn_tensor& x,      \
                       const kn_tensor& dx, const Context& ctx);

KN_DECLARE_KERNELS(KN_SILU_KERNELS)
