// The kernels of sigmoid: kernels/cpu/sigmoid.cpp and kernels/cuda/sigmoid.cu, called by
// capi/sigmoid.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/sigmoid.h"

#define KN_SIGMOID_KERNELS(Context)                                                          \
  /* x, y: same shape (y may be x) */                                                        \
  void sigmoid_forward(const kn_tensor& x, const kn_tensor& y, const Context& ctx);          \
  /* dy, y, dx: same shape; dx = dy (1 - y) y */                                             \
  void sigmoid_backward(const kn_tensor& dy, const kn_tensor& y, const kn_tensor& dx,        \
                        const Context& ctx);

KN_DECLARE_KERNELS(KN_SIGMOID_KERNELS)
