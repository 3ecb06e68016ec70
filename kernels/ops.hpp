// The kernels' internal C++ interface, called by capi/ after validation.
//
// Each op has a CPU kernel (kernels/cpu/<op>.cpp) and a CUDA kernel
// (kernels/cuda/<op>.cu) with the same signature apart from the context.
// Arguments have been validated by capi/ (non-null where required, shapes
// agree, one float dtype, one device, outputs do not overlap inputs), so a
// kernel only computes. Optional arguments are pointers (nullptr = absent /
// not needed); required ones are references.
#pragma once

#include <cstddef>

#include "kernels/kernels.h"

namespace kn {

struct CpuContext {
  int num_threads;  // resolved: >= 1
};

struct CudaContext {
  void* stream;  // cudaStream_t; nullptr = legacy default stream
  void* workspace;
  size_t workspace_bytes;
};

#define KN_DECLARE_KERNELS(Context)                                                        \
  /* x:(N,in) w:(out,in) b:(out)? -> y:(N,out) */                                          \
  void linear_forward(const kn_tensor& x, const kn_tensor& w, const kn_tensor* b,          \
                      const kn_tensor& y, const Context& ctx);                             \
  /* dy:(N,out) x:(N,in)? w:(out,in)? -> dx:(N,in)? dw:(out,in)? db:(out)? */              \
  void linear_backward(const kn_tensor& dy, const kn_tensor* x, const kn_tensor* w,        \
                       const kn_tensor* dx, const kn_tensor* dw, const kn_tensor* db,      \
                       const Context& ctx);                                                \
  /* x, y: same shape */                                                                   \
  void relu_forward(const kn_tensor& x, const kn_tensor& y, const Context& ctx);           \
  /* dy, x, dx: same shape */                                                              \
  void relu_backward(const kn_tensor& dy, const kn_tensor& x, const kn_tensor& dx,         \
                     const Context& ctx);                                                  \
  /* input, target: same shape; out: that shape (NONE) or 0-d (MEAN, SUM) */              \
  void mse_loss_forward(kn_reduction reduction, const kn_tensor& input,                    \
                        const kn_tensor& target, const kn_tensor& out, const Context& ctx); \
  /* dout: out's shape; dinput, dtarget: input's shape, each optional */                   \
  void mse_loss_backward(kn_reduction reduction, const kn_tensor& dout,                    \
                         const kn_tensor& input, const kn_tensor& target,                  \
                         const kn_tensor* dinput, const kn_tensor* dtarget,                \
                         const Context& ctx);                                     \
  /* ---- convolution ---- */ \
  /* x:(N,C,H,W) w:(O,C/g,kH,kW) b:(O)? -> y:(N,O,Ho,Wo) */                                \
  void conv2d_forward(const kn_conv2d_params& p, const kn_tensor& x, const kn_tensor& w,    \
                      const kn_tensor* b, const kn_tensor& y, const Context& ctx);         \
  /* dy:(N,O,Ho,Wo) x? w? -> dx:(N,C,H,W)? dw:(O,C/g,kH,kW)? db:(O)?; x or dx, w or dw */   \
  void conv2d_backward(const kn_conv2d_params& p, const kn_tensor& dy, const kn_tensor* x, \
                       const kn_tensor* w, const kn_tensor* dx, const kn_tensor* dw,       \
                       const kn_tensor* db, const Context& ctx);                           \
  \
  /* ---- pooling ---- */ \
  \
  /* ---- activations ---- */ \
  \
  /* ---- softmax and losses ---- */ \
  \
  /* ---- dropout ---- */ \
  \
  /* (end of the kernel list) */

namespace cpu {
KN_DECLARE_KERNELS(CpuContext)
}  // namespace cpu

namespace cuda {
KN_DECLARE_KERNELS(CudaContext)
}  // namespace cuda

#undef KN_DECLARE_KERNELS

}  // namespace kn
