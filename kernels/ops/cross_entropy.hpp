// The kernels of cross_entropy: kernels/cpu/cross_entropy.cpp and kernels/cuda/cross_entropy.cu, called by
// capi/cross_entropy.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/cross_entropy.h"

#define KN_CROSS_ENTROPY_KERNELS(Context)                                               \
  void cross_entropy_forward(const kn_cross_entropy_params& p, const kn_tensor& input,  \
                             const kn_tensor& target, const kn_tensor* weight,          \
                             const kn_tensor& out, const kn_tensor& total_weight,       \
                             const Context& ctx);                                       \
  void cross_entropy_backward(const kn_cross_entropy_params& p, const kn_tensor& dout,  \
                              const kn_tensor& input, const kn_tensor& target,          \
                              const kn_tensor* weight, const kn_tensor& total_weight,   \
                              const kn_tensor& dinput,                                  \
                              const Context& ctx);

KN_DECLARE_KERNELS(KN_CROSS_ENTROPY_KERNELS)
