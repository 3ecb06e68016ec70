/* kernels/layer_norm.h -- layer normalisation over the trailing dims.
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions written there (core.h) hold for every function below. */
#ifndef KERNELS_LAYER_NORM_H_
#define KERNELS_LAYER_NORM_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* normalized_ndim: how many trailing dims of x are normalised together
 * (torch's len(normalized_shape)), in [1, x.ndim]; eps: finite, >= 0. */
typedef struct {
  int32_t normalized_ndim;
  double eps;
} kn_layer_norm_params;

/* Layer normalisation forward (as torch.nn.functional.layer_norm):
 *   x:(*lead, *norm) with k = normalized_ndim trailing dims `norm` (D = their
 *   product elements per row, one row per index of `lead`)
 *   weight:(*norm) or NULL (= 1), bias:(*norm) or NULL (= 0)
 *   -> y:(*lead, *norm)   y = (x - mean) * rstd * weight + bias
 *      mean:(*lead)       the row's mean
 *      rstd:(*lead)       1 / sqrt(var + eps), var the biased variance (/ D)
 * mean and rstd have x's LEADING dims only (a 0-d tensor when k = x.ndim);
 * torch's saved shape (*lead, 1, ..., 1) is a view of the same elements.
 * Statistics are summed in double (on the CPU in one pass over x - x[0],
 * which bounds the cancellation; on CUDA in two passes), so float32 loses
 * nothing to the accumulation. Any strides; size-0 dims allowed (a row of D = 0 elements gives
 * mean 0 and rstd NaN, as torch). y may not alias x.
 * Deterministic for any thread count. */
KN_API kn_status kn_layer_norm_forward(const kn_layer_norm_params* p, const kn_tensor* x,
                                       const kn_tensor* weight, const kn_tensor* bias,
                                       const kn_tensor* y, const kn_tensor* mean,
                                       const kn_tensor* rstd, const kn_exec* ex);

/* Layer normalisation backward, from the forward's mean and rstd:
 *   dy, x:(*lead, *norm), weight:(*norm) or NULL, mean, rstd:(*lead)
 *   xhat = (x - mean) rstd, g = dy * weight (dy when weight is NULL)
 *   -> dx:(*lead, *norm)  dx = rstd (g - mean_row(g) - xhat mean_row(g xhat))
 *      dweight:(*norm)    sum over rows of dy xhat
 *      dbias:(*norm)      sum over rows of dy
 * Each of dx, dweight, dbias may be NULL (not needed). dweight and dbias are
 * summed over fixed chunks of rows combined in a fixed order: bitwise the
 * same for any thread count. */
KN_API kn_status kn_layer_norm_backward(const kn_layer_norm_params* p, const kn_tensor* dy,
                                        const kn_tensor* x, const kn_tensor* weight,
                                        const kn_tensor* mean, const kn_tensor* rstd,
                                        const kn_tensor* dx, const kn_tensor* dweight,
                                        const kn_tensor* dbias, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_LAYER_NORM_H_ */
