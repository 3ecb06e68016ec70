// The kernels of celu: kernels/cpu/celu.cpp and kernels/cuda/celu.cu, called by
// capi/celu.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/celu.h"

#define KN_CELU_KERNELS(Context)                                                       \
  /* x, y: one shape (y may be x) */                                                    \
  void celu_forward(double alpha, const kn_tensor& x, const kn_tensor& y,               \
                      const Context& ctx);                                              \
  /* dy, x, dx: one shape (dx may be dy) */                                      \
  void celu_backward(double alpha, const kn_tensor& dy, const kn_tensor& x,      \
                       const kn_tensor& dx, const Context& ctx);

KN_DECLARE_KERNELS(KN_CELU_KERNELS)
