/* kernels/group_norm.h -- group normalisation over channel groups.
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions written there (core.h) hold for every function below. */
#ifndef KERNELS_GROUP_NORM_H_
#define KERNELS_GROUP_NORM_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* num_groups >= 1 and must divide C (else KN_ERR_INVALID_ARGUMENT, as torch
 * refuses it); eps: finite, >= 0. */
typedef struct {
  int64_t num_groups;
  double eps;
} kn_group_norm_params;

/* Group normalisation forward (as torch.nn.functional.group_norm):
 *   x:(N, C, *) (ndim >= 2), G = num_groups, each group g of n holds the
 *   C/G channels [g C/G, (g+1) C/G) and every spatial position: M = C/G * prod(*)
 *   elements; weight:(C) or NULL (= 1), bias:(C) or NULL (= 0)
 *   -> y:(N, C, *)   y = (x - mean[n,g]) rstd[n,g] weight[c] + bias[c]
 *      mean:(N, G), rstd:(N, G) = 1 / sqrt(biased var + eps)
 * Statistics summed in double (kernels/internal/moments.hpp).
 * Any strides; size-0 dims allowed (an empty group: mean 0, rstd NaN, as
 * torch). Deterministic for any thread count. */
KN_API kn_status kn_group_norm_forward(const kn_group_norm_params* p, const kn_tensor* x,
                                       const kn_tensor* weight, const kn_tensor* bias,
                                       const kn_tensor* y, const kn_tensor* mean,
                                       const kn_tensor* rstd, const kn_exec* ex);

/* Group normalisation backward, from the forward's mean and rstd:
 *   dy, x:(N, C, *), weight:(C) or NULL, mean, rstd:(N, G)
 *   xhat = (x - mean) rstd, g = dy weight[c]
 *   -> dx:(N, C, *)  dx = rstd (g - mean_group(g) - xhat mean_group(g xhat))
 *      dweight:(C)   sum over n and positions of dy xhat
 *      dbias:(C)     sum over n and positions of dy
 * Each of dx, dweight, dbias may be NULL. Per-(n, c) sums are added over n in
 * order: bitwise the same for any thread count. */
KN_API kn_status kn_group_norm_backward(const kn_group_norm_params* p, const kn_tensor* dy,
                                        const kn_tensor* x, const kn_tensor* weight,
                                        const kn_tensor* mean, const kn_tensor* rstd,
                                        const kn_tensor* dx, const kn_tensor* dweight,
                                        const kn_tensor* dbias, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_GROUP_NORM_H_ */
