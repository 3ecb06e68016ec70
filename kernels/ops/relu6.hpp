// The kernels of relu6: kernels/cpu/relu6.cpp and kernels/cuda/relu6.cu, called by
// capi/relu6.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/relu6.h"

#define KN_RELU6_KERNELS(Context)                                                       \
  /* x, y: one shape (y may be x) */                                                    \
  void relu6_forward(const kn_tensor& x, const kn_tensor& y,               \
                      const Context& ctx);                                              \
  /* dy, y, dx: one shape (dx may be dy) */                                      \
  void relu6_backward(const kn_tensor& dy, const kn_tensor& y,      \
                       const kn_tensor& dx, const Context& ctx);

KN_DECLARE_KERNELS(KN_RELU6_KERNELS)
