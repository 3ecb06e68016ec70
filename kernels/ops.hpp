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
  /* x:(N,C,H,W) -> y, indices:(N,C,Ho,Wo) */ \
  void max_pool2d_forward(const kn_max_pool2d_params& p, const kn_tensor& x,               \
                          const kn_tensor& y, const kn_tensor& indices, const Context& ctx); \
  /* dy, indices:(N,C,Ho,Wo) -> dx:(N,C,H,W) */ \
  void max_pool2d_backward(const kn_max_pool2d_params& p, const kn_tensor& dy,             \
                           const kn_tensor& indices, const kn_tensor& dx, const Context& ctx); \
  /* x:(N,C,H,W) -> y:(N,C,Ho,Wo) */ \
  void avg_pool2d_forward(const kn_avg_pool2d_params& p, const kn_tensor& x,               \
                          const kn_tensor& y, const Context& ctx);                          \
  /* dy:(N,C,Ho,Wo) -> dx:(N,C,H,W) */ \
  void avg_pool2d_backward(const kn_avg_pool2d_params& p, const kn_tensor& dy,             \
                           const kn_tensor& dx, const Context& ctx);                        \
  \
  /* ---- activations ---- */ \
  /* x, y: same shape (y may be x) */                                                         \
  void sigmoid_forward(const kn_tensor& x, const kn_tensor& y, const Context& ctx);        \
  /* dy, y, dx: same shape; dx = dy (1 - y) y */                                           \
  void sigmoid_backward(const kn_tensor& dy, const kn_tensor& y, const kn_tensor& dx,      \
                        const Context& ctx);                                               \
  void tanh_forward(const kn_tensor& x, const kn_tensor& y, const Context& ctx);           \
  /* dy, y, dx: same shape; dx = dy (1 - y^2) */                                           \
  void tanh_backward(const kn_tensor& dy, const kn_tensor& y, const kn_tensor& dx,         \
                     const Context& ctx);                                                  \
  void leaky_relu_forward(double negative_slope, const kn_tensor& x, const kn_tensor& y,   \
                          const Context& ctx);                                             \
  /* self: x or y (the sign is what matters) */                                            \
  void leaky_relu_backward(double negative_slope, const kn_tensor& dy,                     \
                           const kn_tensor& self, const kn_tensor& dx, const Context& ctx); \
  void gelu_forward(kn_gelu_approximate approximate, const kn_tensor& x,                   \
                    const kn_tensor& y, const Context& ctx);                               \
  void gelu_backward(kn_gelu_approximate approximate, const kn_tensor& dy,                 \
                     const kn_tensor& x, const kn_tensor& dx, const Context& ctx);         \
  \
  /* ---- softmax and losses ---- */ \
  /* x, y: one shape; rows along dim (log: log_softmax) */                                  \
  void softmax_forward(bool log, int dim, const kn_tensor& x, const kn_tensor& y,           \
                       const Context& ctx);                                                 \
  /* dy, y, dx: one shape */                                                                \
  void softmax_backward(bool log, int dim, const kn_tensor& dy, const kn_tensor& y,         \
                        const kn_tensor& dx, const Context& ctx);                           \
  /* input (N,C,...)|(C,), target: rows, weight: (C,)?, out: rows or 0-d, total_weight 0-d */ \
  void nll_loss_forward(const kn_cross_entropy_params& p, const kn_tensor& input,           \
                        const kn_tensor& target, const kn_tensor* weight,                   \
                        const kn_tensor& out, const kn_tensor& total_weight,                \
                        const Context& ctx);                                                \
  void nll_loss_backward(const kn_cross_entropy_params& p, const kn_tensor& dout,           \
                         const kn_tensor& target, const kn_tensor* weight,                  \
                         const kn_tensor& total_weight, const kn_tensor& dinput,            \
                         const Context& ctx);                                               \
  void cross_entropy_forward(const kn_cross_entropy_params& p, const kn_tensor& input,      \
                             const kn_tensor& target, const kn_tensor* weight,              \
                             const kn_tensor& out, const kn_tensor& total_weight,           \
                             const Context& ctx);                                           \
  void cross_entropy_backward(const kn_cross_entropy_params& p, const kn_tensor& dout,      \
                              const kn_tensor& input, const kn_tensor& target,              \
                              const kn_tensor* weight, const kn_tensor& total_weight,       \
                              const kn_tensor& dinput,                                      \
                              const Context& ctx);                                          \
  \
  /* ---- dropout ---- */ \
  /* x, y: same shape; mask: same shape, uint8 or bool; p in [0, 1] */                       \
  void dropout_forward(double p, uint64_t seed, const kn_tensor& x, const kn_tensor& y,    \
                       const kn_tensor& mask, const Context& ctx);                         \
  void dropout_backward(double p, const kn_tensor& dy, const kn_tensor& mask,              \
                        const kn_tensor& dx, const Context& ctx);                          \
  \
  /* ---- graph ---- */ \
  /* indptr:(V+1) indices:(E) -> t_indptr:(U+1) t_indices:(E) t_edge_ids:(E) */ \
  void csr_transpose(const kn_tensor& indptr, const kn_tensor& indices,                   \
                     const kn_tensor& t_indptr, const kn_tensor& t_indices,               \
                     const kn_tensor& t_edge_ids, const Context& ctx);                    \
  /* indptr:(V+1) indices:(E) edge_values:(E)? x:(U,F) -> y:(V,F) arg:(V,F)? */ \
  void gspmm_forward(const kn_gspmm_params& p, const kn_tensor& indptr,                   \
                     const kn_tensor& indices, const kn_tensor* edge_values,              \
                     const kn_tensor& x, const kn_tensor& y, const kn_tensor* arg,        \
                     const Context& ctx);                                                 \
  /* dy:(V,F) ... -> dx:(U,F)? dedge:(E)? */ \
  void gspmm_backward(const kn_gspmm_params& p, const kn_tensor& dy,                      \
                      const kn_tensor& indptr, const kn_tensor& indices,                  \
                      const kn_tensor* t_indptr, const kn_tensor* t_indices,              \
                      const kn_tensor* t_edge_ids, const kn_tensor* edge_values,          \
                      const kn_tensor* x, const kn_tensor* arg, const kn_tensor* dx,      \
                      const kn_tensor* dedge, const Context& ctx);                        \
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
