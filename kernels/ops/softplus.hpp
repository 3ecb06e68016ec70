// The kernels of softplus: kernels/cpu/softplus.cpp and kernels/cuda/softplus.cu, called by
// capi/softplus.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/softplus.h"

#define KN_SOFTPLUS_KERNELS(Context)                                                       \
  /* x, y: one shape (y may be x) */                                                    \
  void softplus_forward(double beta, double threshold, const kn_tensor& x, const kn_tensor& y,               \
                      const Context& ctx);                                              \
  /* dy, x, dx: one shape (dx may be dy) */                                      \
  void softplus_backward(double beta, double threshold, const kn_tensor& dy, const kn_tensor& x,      \
                       const kn_tensor& dx, const Context& ctx);

KN_DECLARE_KERNELS(KN_SOFTPLUS_KERNELS)
