// The kernels of dropout: kernels/cpu/dropout.cpp and kernels/cuda/dropout.cu, called by
// capi/dropout.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/dropout.h"

#define KN_DROPOUT_KERNELS(Context)                                                      \
  /* x, y: same shape; mask: same shape, uint8 or bool; p in [0, 1] */                   \
  void dropout_forward(double p, uint64_t seed, const kn_tensor& x, const kn_tensor& y,  \
                       const kn_tensor& mask, const Context& ctx);                       \
  void dropout_backward(double p, const kn_tensor& dy, const kn_tensor& mask,            \
                        const kn_tensor& dx, const Context& ctx);

KN_DECLARE_KERNELS(KN_DROPOUT_KERNELS)
