/* kernels/softplus.h -- softplus, element-wise: y = softplus(x; beta, threshold).
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions of kernels/core.h hold for both functions below.
 * The formulas: kernels/formulas/softplus.hpp. */
#ifndef KERNELS_SOFTPLUS_H_
#define KERNELS_SOFTPLUS_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* softplus forward:  y = softplus(x; beta, threshold), element-wise (torch's):
 *   y = x                          where beta x > threshold
 *       log(1 + exp(beta x)) / beta  elsewhere
 *   x, y: one shape (any ndim, any strides); y may be x itself (in place).
 *   Scalar parameters: beta (finite, != 0: torch divides by it and returns
 *   NaN or inf for 0; a negative beta is accepted), threshold (finite).
 * Invalid scalars are KN_ERR_INVALID_ARGUMENT, nothing written. */
KN_API kn_status kn_softplus_forward(double beta, double threshold, const kn_tensor* x, const kn_tensor* y,
                                     const kn_exec* ex);

/* softplus backward:  dx = dy * dsoftplus/dx, element-wise, from its input x:
 *   dsoftplus/dx = 1 where beta x > threshold, sigmoid(beta x) elsewhere.
 *   dy, x, dx: one shape; dx may be dy itself (in place).
 *   Scalar parameters as in the forward. */
KN_API kn_status kn_softplus_backward(double beta, double threshold, const kn_tensor* dy, const kn_tensor* x,
                                      const kn_tensor* dx, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_SOFTPLUS_H_ */
