/* kernels/embedding.h -- embedding: a lookup of weight rows by index.
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions written there (core.h) hold for every function below. */
#ifndef KERNELS_EMBEDDING_H_
#define KERNELS_EMBEDDING_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Embedding forward:  y[i..., :] = weight[indices[i...], :]
 *   weight: (V, D) float;  indices: any shape (*) of at most KN_MAX_DIMS - 1 dims,
 *   KN_INT32 or KN_INT64;  y: (*, D), weight's dtype. Any strides for all three.
 * Every index must lie in [0, V). On the CPU an index outside it is
 * KN_ERR_INVALID_ARGUMENT naming its position ("indices[3, 1] = 57 is out of
 * range for weight with 50 rows"; nothing is written); on CUDA
 * the check cannot report without a device synchronisation, so such a row of
 * y is written as zeros and nothing outside weight is ever read. */
KN_API kn_status kn_embedding_forward(const kn_tensor* weight, const kn_tensor* indices,
                                      const kn_tensor* y, const kn_exec* ex);

typedef struct {
  int64_t padding_idx;        /* the row that gets no gradient, in [0, V); -1 = none */
  int32_t scale_grad_by_freq; /* 0 / 1: divide each row's gradient by the number of
                                 times its index occurs in indices */
} kn_embedding_params;

/* Embedding backward:  dweight[v, :] = sum over positions i with indices[i] == v
 * of dy[i, :] (divided by that count when scale_grad_by_freq), 0 for rows
 * never looked up and for padding_idx.
 *   dy: (*, D) float; indices: (*) as in the forward; dweight: (V, D), written
 *   whole (=). Deterministic: the sum of each row starts from 0 and runs in the
 *   order of the positions, in dy's dtype, whatever the thread count (no atomics;
 *   CPU and CUDA give the same bits). Index checks as in the forward (on CUDA an
 *   out-of-range index contributes nothing). p must not be NULL; padding_idx
 *   outside [-1, V) or scale_grad_by_freq other than 0 / 1 is
 *   KN_ERR_INVALID_ARGUMENT. */
KN_API kn_status kn_embedding_backward(const kn_embedding_params* p, const kn_tensor* dy,
                                       const kn_tensor* indices, const kn_tensor* dweight,
                                       const kn_exec* ex);

/* max_norm, as torch.embedding_renorm_: every row of weight that indices
 * refers to (each once) whose norm_type-norm exceeds max_norm is scaled IN
 * PLACE by max_norm / (norm + 1e-7). weight: (V, D) float, read and written;
 * indices as in the forward (out of range: refused on the CPU with weight
 * unchanged, ignored on CUDA). max_norm >= 0 and finite, norm_type > 0 (inf
 * allowed: the max-abs norm), else KN_ERR_INVALID_ARGUMENT. The norm is
 * computed in double. */
KN_API kn_status kn_embedding_renorm(double max_norm, double norm_type, const kn_tensor* weight,
                                     const kn_tensor* indices, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_EMBEDDING_H_ */
