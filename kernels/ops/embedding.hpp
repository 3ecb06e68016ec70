// The kernels of embedding: kernels/cpu/embedding.cpp and kernels/cuda/embedding.cu, called
// by capi/embedding.cpp after validation (kernels/context.hpp says what that guarantees).
// Shapes (V rows of D features, indices of any shape (*) with N elements):
//   weight, dweight: (V, D); indices: (*), int32 or int64; y, dy: (*, D).
// Index ranges are the kernels' to check (they read the data): the CPU ones throw
// KN_ERR_INVALID_ARGUMENT before writing anything, the CUDA ones never read or write
// out of bounds (y row = 0, no contribution to dweight, no renorm).
#pragma once

#include "kernels/context.hpp"
#include "kernels/embedding.h"

#define KN_EMBEDDING_KERNELS(Context)                                                       \
  /* weight:(V,D) indices:(*) -> y:(*,D) = weight[indices] */                               \
  void embedding_forward(const kn_tensor& weight, const kn_tensor& indices,                 \
                         const kn_tensor& y, const Context& ctx);                           \
  /* dy:(*,D) indices:(*) -> dweight:(V,D), written whole; p validated (padding_idx in    \
     [-1, V), scale_grad_by_freq 0 / 1) */                                                  \
  void embedding_backward(const kn_embedding_params& p, const kn_tensor& dy,                \
                          const kn_tensor& indices, const kn_tensor& dweight,               \
                          const Context& ctx);                                              \
  /* weight:(V,D) read and written in place, indices:(*); max_norm >= 0 finite,            \
     norm_type > 0 (inf allowed) */                                                         \
  void embedding_renorm(double max_norm, double norm_type, const kn_tensor& weight,         \
                        const kn_tensor& indices, const Context& ctx);

KN_DECLARE_KERNELS(KN_EMBEDDING_KERNELS)
