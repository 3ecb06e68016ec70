// The kernels of conv2d: kernels/cpu/conv2d.cpp and kernels/cuda/conv2d.cu, called by
// capi/conv2d.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/conv2d.h"

#define KN_CONV2D_KERNELS(Context)                                                          \
  /* x:(N,C,H,W) w:(O,C/g,kH,kW) b:(O)? -> y:(N,O,Ho,Wo) */                                 \
  void conv2d_forward(const kn_conv2d_params& p, const kn_tensor& x, const kn_tensor& w,    \
                      const kn_tensor* b, const kn_tensor& y, const Context& ctx);          \
  /* dy:(N,O,Ho,Wo) x? w? -> dx:(N,C,H,W)? dw:(O,C/g,kH,kW)? db:(O)?; x or dx, w or dw */   \
  void conv2d_backward(const kn_conv2d_params& p, const kn_tensor& dy, const kn_tensor* x,  \
                       const kn_tensor* w, const kn_tensor* dx, const kn_tensor* dw,        \
                       const kn_tensor* db, const Context& ctx);

KN_DECLARE_KERNELS(KN_CONV2D_KERNELS)
