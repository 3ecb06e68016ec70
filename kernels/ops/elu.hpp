// The kernels of elu: kernels/cpu/elu.cpp and kernels/cuda/elu.cu, called by
// capi/elu.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/elu.h"

#define KN_ELU_KERNELS(Context)                                                       \
  /* x, y: one shape (y may be x) */                                                    \
  void elu_forward(double alpha, const kn_tensor& x, const kn_tensor& y,               \
                      const Context& ctx);                                              \
  /* dy, x, dx: one shape (dx may be dy) */                                      \
  void elu_backward(double alpha, const kn_tensor& dy, const kn_tensor& x,      \
                       const kn_tensor& dx, const Context& ctx);

KN_DECLARE_KERNELS(KN_ELU_KERNELS)
