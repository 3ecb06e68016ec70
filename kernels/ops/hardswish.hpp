// The kernels of hardswish: kernels/cpu/hardswish.cpp and kernels/cuda/hardswish.cu, called by
// capi/hardswish.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/hardswish.h"

#define KN_HARDSWISH_KERNELS(Context)                                                       \
  /* x, y: one shape (y may be x) */                                                    \
  void hardswish_forward(const kn_tensor& x, const kn_tensor& y,               \
                      const Context& ctx);                                              \
  /* dy, x, dx: one shape (dx may be dy) */                                      \
  void hardswish_backward(const kn_tensor& dy, const kn_tensor& x,      \
                       const kn_tensor& dx, const Context& ctx);

KN_DECLARE_KERNELS(KN_HARDSWISH_KERNELS)
