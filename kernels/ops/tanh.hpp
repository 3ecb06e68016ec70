// The kernels of tanh: kernels/cpu/tanh.cpp and kernels/cuda/tanh.cu, called by
// capi/tanh.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/tanh.h"

#define KN_TANH_KERNELS(Context)                                                             \
  /* x, y: same shape (y may be x) */                                                        \
  void tanh_forward(const kn_tensor& x, const kn_tensor& y, const Context& ctx);             \
  /* dy, y, dx: same shape; dx = dy (1 - y^2) */                                             \
  void tanh_backward(const kn_tensor& dy, const kn_tensor& y, const kn_tensor& dx,           \
                     const Context& ctx);

KN_DECLARE_KERNELS(KN_TANH_KERNELS)
