// The kernels of mse_loss: kernels/cpu/mse_loss.cpp and kernels/cuda/mse_loss.cu, called by
// capi/mse_loss.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/mse_loss.h"

#define KN_MSE_LOSS_KERNELS(Context)                                                         \
  /* input, target: same shape; out: that shape (NONE) or 0-d (MEAN, SUM) */                 \
  void mse_loss_forward(kn_reduction reduction, const kn_tensor& input,                      \
                        const kn_tensor& target, const kn_tensor& out, const Context& ctx);  \
  /* dout: out's shape; dinput, dtarget: input's shape, each optional */                     \
  void mse_loss_backward(kn_reduction reduction, const kn_tensor& dout,                      \
                         const kn_tensor& input, const kn_tensor& target,                    \
                         const kn_tensor* dinput, const kn_tensor* dtarget,                  \
                         const Context& ctx);

KN_DECLARE_KERNELS(KN_MSE_LOSS_KERNELS)
