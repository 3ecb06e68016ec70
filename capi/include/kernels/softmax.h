/* kernels/softmax.h -- softmax and log-softmax along one dim.
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions written there (core.h) hold for every function below. */
#ifndef KERNELS_SOFTMAX_H_
#define KERNELS_SOFTMAX_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Softmax along `dim`:  y = exp(x - max) / sum_dim exp(x - max)
 *   x, y: one shape, ndim >= 1 (any strides); dim in [0, ndim): each 1-D row
 *   along `dim` (all other indices fixed) is normalised on its own. A row
 *   holding NaN gives NaN; +inf gives NaN (as torch). y may be x itself
 *   (in-place). Float32 uses float exp/max and a double sum per row;
 *   deterministic for any thread count. */
KN_API kn_status kn_softmax_forward(int32_t dim, const kn_tensor* x, const kn_tensor* y,
                                    const kn_exec* ex);

/* Softmax backward from the OUTPUT y:  dx = y * (dy - sum_dim(dy * y))
 *   dy, y, dx: one shape; dx may be dy or y itself (in-place). */
KN_API kn_status kn_softmax_backward(int32_t dim, const kn_tensor* dy, const kn_tensor* y,
                                     const kn_tensor* dx, const kn_exec* ex);

/* Log-softmax along `dim`:  y = x - max - log(sum_dim exp(x - max))
 * Shapes and in-place rules as kn_softmax_forward. */
KN_API kn_status kn_log_softmax_forward(int32_t dim, const kn_tensor* x, const kn_tensor* y,
                                        const kn_exec* ex);

/* Log-softmax backward from the OUTPUT y:  dx = dy - exp(y) * sum_dim(dy)
 * Shapes and in-place rules as kn_softmax_backward. */
KN_API kn_status kn_log_softmax_backward(int32_t dim, const kn_tensor* dy, const kn_tensor* y,
                                         const kn_tensor* dx, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_SOFTMAX_H_ */
