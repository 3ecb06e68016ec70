// The kernels of linear: kernels/cpu/linear.cpp and kernels/cuda/linear.cu, called by
// capi/linear.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/linear.h"

#define KN_LINEAR_KERNELS(Context)                                                     \
  /* x:(N,in) w:(out,in) b:(out)? -> y:(N,out) */                                      \
  void linear_forward(const kn_tensor& x, const kn_tensor& w, const kn_tensor* b,      \
                      const kn_tensor& y, const Context& ctx);                         \
  /* dy:(N,out) x:(N,in)? w:(out,in)? -> dx:(N,in)? dw:(out,in)? db:(out)? */          \
  void linear_backward(const kn_tensor& dy, const kn_tensor* x, const kn_tensor* w,    \
                       const kn_tensor* dx, const kn_tensor* dw, const kn_tensor* db,  \
                       const Context& ctx);

KN_DECLARE_KERNELS(KN_LINEAR_KERNELS)
