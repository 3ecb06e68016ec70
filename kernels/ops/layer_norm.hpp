// The kernels of layer_norm: kernels/cpu/layer_norm.cpp and kernels/cuda/layer_norm.cu, called by
// capi/layer_norm.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/layer_norm.h"

#define KN_LAYER_NORM_KERNELS(Context)                                                        \
  /* x, y:(*lead, *norm), weight, bias:(*norm) or null, mean, rstd:(*lead); k = p.normalized_ndim */ \
  void layer_norm_forward(const kn_layer_norm_params& p, const kn_tensor& x,                  \
                          const kn_tensor* weight, const kn_tensor* bias, const kn_tensor& y,  \
                          const kn_tensor& mean, const kn_tensor& rstd, const Context& ctx);   \
  /* dy, x:(*lead, *norm), weight or null, mean, rstd -> dx, dweight, dbias (each or null) */  \
  void layer_norm_backward(const kn_layer_norm_params& p, const kn_tensor& dy,                 \
                           const kn_tensor& x, const kn_tensor* weight, const kn_tensor& mean, \
                           const kn_tensor& rstd, const kn_tensor* dx, const kn_tensor* dweight, \
                           const kn_tensor* dbias, const Context& ctx);

KN_DECLARE_KERNELS(KN_LAYER_NORM_KERNELS)
