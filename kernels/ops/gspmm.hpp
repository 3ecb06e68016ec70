// The kernels of gspmm: kernels/cpu/gspmm.cpp and kernels/cuda/gspmm.cu, called by
// capi/gspmm.cpp after validation (kernels/context.hpp says what that guarantees).
#pragma once

#include "kernels/context.hpp"
#include "kernels/gspmm.h"

#define KN_GSPMM_KERNELS(Context)                                                     \
  /* indptr:(V+1) indices:(E) -> t_indptr:(U+1) t_indices:(E) t_edge_ids:(E) */       \
  void csr_transpose(const kn_tensor& indptr, const kn_tensor& indices,               \
                     const kn_tensor& t_indptr, const kn_tensor& t_indices,           \
                     const kn_tensor& t_edge_ids, const Context& ctx);                \
  /* indptr:(V+1) indices:(E) edge_values:(E)? x:(U,F) -> y:(V,F) arg:(V,F)? */       \
  void gspmm_forward(const kn_gspmm_params& p, const kn_tensor& indptr,               \
                     const kn_tensor& indices, const kn_tensor* edge_values,          \
                     const kn_tensor& x, const kn_tensor& y, const kn_tensor* arg,    \
                     const Context& ctx);                                             \
  /* dy:(V,F) ... -> dx:(U,F)? dedge:(E)? */                                          \
  void gspmm_backward(const kn_gspmm_params& p, const kn_tensor& dy,                  \
                      const kn_tensor& indptr, const kn_tensor& indices,              \
                      const kn_tensor* t_indptr, const kn_tensor* t_indices,          \
                      const kn_tensor* t_edge_ids, const kn_tensor* edge_values,      \
                      const kn_tensor* x, const kn_tensor* arg, const kn_tensor* dx,  \
                      const kn_tensor* dedge, const Context& ctx);

KN_DECLARE_KERNELS(KN_GSPMM_KERNELS)
