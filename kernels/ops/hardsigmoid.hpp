// The kernels of hardsigmoid: kernels/cpu/hardsigmoid.cpp and kernels/cuda/hardsigmoid.cu, called by
// capi/hardsigmoid.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/hardsigmoid.h"

#define KN_HARDSIGMOID_KERNELS(Context)                                                       \
  /* x, y: one shape (y may be x) */                                                    \
  void hardsigmoid_forward(const kn_tensor& x, const kn_tensor& y,               \
                      const Context& ctx);                                              \
  /* dy, x, dx: one shape (dx may be dy) */                                      \
  void hardsigmoid_backward(const kn_tensor& dy, const kn_tensor& x,      \
                       const kn_tensor& dx, const Context& ctx);

KN_DECLARE_KERNELS(KN_HARDSIGMOID_KERNELS)
