// The kernels of relu: kernels/cpu/relu.cpp and kernels/cuda/relu.cu, called by
// capi/relu.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/relu.h"

#define KN_RELU_KERNELS(Context)                                                    \
  /* x, y: same shape */                                                            \
  void relu_forward(const kn_tensor& x, const kn_tensor& y, const Context& ctx);    \
  /* dy, x, dx: same shape */                                                       \
  void relu_backward(const kn_tensor& dy, const kn_tensor& x, const kn_tensor& dx,  \
                     const Context& ctx);

KN_DECLARE_KERNELS(KN_RELU_KERNELS)
