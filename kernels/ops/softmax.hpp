// The kernels of softmax: kernels/cpu/softmax.cpp and kernels/cuda/softmax.cu, called by
// capi/softmax.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/softmax.h"

#define KN_SOFTMAX_KERNELS(Context)                                                  \
  /* x, y: one shape; rows along dim (log: log_softmax) */                           \
  void softmax_forward(bool log, int dim, const kn_tensor& x, const kn_tensor& y,    \
                       const Context& ctx);                                          \
  /* dy, y, dx: one shape */                                                         \
  void softmax_backward(bool log, int dim, const kn_tensor& dy, const kn_tensor& y,  \
                        const kn_tensor& dx, const Context& ctx);

KN_DECLARE_KERNELS(KN_SOFTMAX_KERNELS)
