// The kernels of leaky_relu: kernels/cpu/leaky_relu.cpp and kernels/cuda/leaky_relu.cu, called by
// capi/leaky_relu.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/leaky_relu.h"

#define KN_LEAKY_RELU_KERNELS(Context)                                                       \
  /* x, y: same shape (y may be x) */                                                        \
  void leaky_relu_forward(double negative_slope, const kn_tensor& x, const kn_tensor& y,     \
                          const Context& ctx);                                               \
  /* self: x or y (the sign is what matters) */                                              \
  void leaky_relu_backward(double negative_slope, const kn_tensor& dy,                       \
                           const kn_tensor& self, const kn_tensor& dx, const Context& ctx);

KN_DECLARE_KERNELS(KN_LEAKY_RELU_KERNELS)
