// The kernels of mish: kernels/cpu/mish.cpp and kernels/cuda/mish.cu, called by
// capi/mish.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/mish.h"

#define KN_MISH_KERNELS(Context)                                                       \
  /* x, y: one shape (y may be x) */                                                    \
  void mish_forward(const kn_tensor& x, const kn_tensor& y,               \
                      const Context& ctx);                                              \
  /* dy, x, dx: one shape (dx may be dy) */                                      \
  void mish_backward(const kn_tensor& dy, const kn_tensor& x,      \
                       const kn_tensor& dx, const Context& ctx);

KN_DECLARE_KERNELS(KN_MISH_KERNELS)
