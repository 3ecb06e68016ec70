// The kernels of nll_loss: kernels/cpu/nll_loss.cpp and kernels/cuda/nll_loss.cu, called by
// capi/nll_loss.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/nll_loss.h"

#define KN_NLL_LOSS_KERNELS(Context)                                                           \
  /* input (N,C,...)|(C,), target: rows, weight: (C,)?, out: rows or 0-d, total_weight 0-d */  \
  void nll_loss_forward(const kn_cross_entropy_params& p, const kn_tensor& input,              \
                        const kn_tensor& target, const kn_tensor* weight,                      \
                        const kn_tensor& out, const kn_tensor& total_weight,                   \
                        const Context& ctx);                                                   \
  void nll_loss_backward(const kn_cross_entropy_params& p, const kn_tensor& dout,              \
                         const kn_tensor& target, const kn_tensor* weight,                     \
                         const kn_tensor& total_weight, const kn_tensor& dinput,               \
                         const Context& ctx);

KN_DECLARE_KERNELS(KN_NLL_LOSS_KERNELS)
