// The kernels of hardtanh: kernels/cpu/hardtanh.cpp and kernels/cuda/hardtanh.cu, called by
// capi/hardtanh.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/hardtanh.h"

#define KN_HARDTANH_KERNELS(Context)                                                       \
  /* x, y: one shape (y may be x) */                                                    \
  void hardtanh_forward(double min_val, double max_val, const kn_tensor& x, const kn_tensor& y,               \
                      const Context& ctx);                                              \
  /* dy, y, dx: one shape (dx may be dy) */                                      \
  void hardtanh_backward(double min_val, double max_val, const kn_tensor& dy, const kn_tensor& y,      \
                       const kn_tensor& dx, const Context& ctx);

KN_DECLARE_KERNELS(KN_HARDTANH_KERNELS)
