// The kernels of @@op@@: kernels/cpu/@@op@@.cpp and kernels/cuda/@@op@@.cu, called by
// capi/@@op@@.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/@@op@@.h"

#define KN_@@OP@@_KERNELS(Context)                                                       \
  /* x, y: one shape (y may be x) */                                                    \
  void @@op@@_forward(@@c_params@@const kn_tensor& x, const kn_tensor& y,               \
                      const Context& ctx);                                              \
  /* dy, @@saved@@, dx: one shape (dx may be dy) */                                      \
  void @@op@@_backward(@@c_params@@const kn_tensor& dy, const kn_tensor& @@saved@@,      \
                       const kn_tensor& dx, const Context& ctx);

KN_DECLARE_KERNELS(KN_@@OP@@_KERNELS)
