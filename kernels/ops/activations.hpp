// The kernels of activations: kernels/cpu/activations.cpp and kernels/cuda/activations.cu, called by
// capi/activations.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/activations.h"

#define KN_ACTIVATIONS_KERNELS(Context)                                                      \
  /* x, y: same shape (y may be x) */                                                        \
  void sigmoid_forward(const kn_tensor& x, const kn_tensor& y, const Context& ctx);          \
  /* dy, y, dx: same shape; dx = dy (1 - y) y */                                             \
  void sigmoid_backward(const kn_tensor& dy, const kn_tensor& y, const kn_tensor& dx,        \
                        const Context& ctx);                                                 \
  void tanh_forward(const kn_tensor& x, const kn_tensor& y, const Context& ctx);             \
  /* dy, y, dx: same shape; dx = dy (1 - y^2) */                                             \
  void tanh_backward(const kn_tensor& dy, const kn_tensor& y, const kn_tensor& dx,           \
                     const Context& ctx);                                                    \
  void leaky_relu_forward(double negative_slope, const kn_tensor& x, const kn_tensor& y,     \
                          const Context& ctx);                                               \
  /* self: x or y (the sign is what matters) */                                              \
  void leaky_relu_backward(double negative_slope, const kn_tensor& dy,                       \
                           const kn_tensor& self, const kn_tensor& dx, const Context& ctx);  \
  void gelu_forward(kn_gelu_approximate approximate, const kn_tensor& x,                     \
                    const kn_tensor& y, const Context& ctx);                                 \
  void gelu_backward(kn_gelu_approximate approximate, const kn_tensor& dy,                   \
                     const kn_tensor& x, const kn_tensor& dx, const Context& ctx);

KN_DECLARE_KERNELS(KN_ACTIVATIONS_KERNELS)
