/* kernels/silu.h -- silu, element-wise: y = silu(x).
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions of kernels/core.h hold for both functions below.
 * The formulas: kernels/formulas/silu.hpp. */
#ifndef KERNELS_SILU_H_
#define KERNELS_SILU_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* silu forward:  y = silu(x), element-wise.
 *   x, y: one shape (any ndim, any strides); y may be x itself (in place).
 *   y = x / (1 + exp(-x)) = x sigmoid(x) (torch's silu; silu(-inf) = NaN, as torch).
 *   Scalar parameters: none.
 * Invalid scalars are KN_ERR_INVALID_ARGUMENT, nothing written. */
KN_API kn_status kn_silu_forward(const kn_tensor* x, const kn_tensor* y,
                                 const kn_exec* ex);

/* silu backward:  dx = dy * dsilu/dx, element-wise, from its input x.
 *   dx = dy s (1 + x (1 - s)), s = sigmoid(x) (NaN at +-inf, as torch).
 *   dy, x, dx: one shape; dx may be dy itself (in place).
 *   Scalar parameters as in the forward. */
KN_API kn_status kn_silu_backward(const kn_tensor* dy, const kn_tensor* x,
                                  const kn_tensor* dx, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_SILU_H_ */
