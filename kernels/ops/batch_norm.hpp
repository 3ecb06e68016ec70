// The kernels of batch_norm: kernels/cpu/batch_norm.cpp and kernels/cuda/batch_norm.cu,
// called by capi/batch_norm.cpp after validation (kernels/context.hpp says what that
// guarantees; here also: x has >= 2 dims, every (C) tensor matches x's C, running_mean
// and running_var both or neither, present in eval).
#pragma once

#include "kernels/batch_norm.h"
#include "kernels/context.hpp"

#define KN_BATCH_NORM_KERNELS(Context)                                                        \
  /* x, y:(N,C,*); weight, bias, running_*, save_*:(C) */                                     \
  void batch_norm_forward(const kn_batch_norm_params& p, const kn_tensor& x,                  \
                          const kn_tensor* weight, const kn_tensor* bias,                     \
                          const kn_tensor* running_mean, const kn_tensor* running_var,        \
                          const kn_tensor& y, const kn_tensor& save_mean,                     \
                          const kn_tensor& save_invstd, const Context& ctx);                  \
  /* dy, x, dx:(N,C,*); weight, save_*, dweight, dbias:(C) */                                 \
  void batch_norm_backward(const kn_batch_norm_params& p, const kn_tensor& dy,                \
                           const kn_tensor& x, const kn_tensor* weight,                       \
                           const kn_tensor& save_mean, const kn_tensor& save_invstd,          \
                           const kn_tensor* dx, const kn_tensor* dweight,                     \
                           const kn_tensor* dbias, const Context& ctx);

KN_DECLARE_KERNELS(KN_BATCH_NORM_KERNELS)
