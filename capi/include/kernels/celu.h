/* kernels/celu.h -- celu, element-wise: y = celu(x; alpha).
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions of kernels/core.h hold for both functions below.
 * The formulas: kernels/formulas/celu.hpp. */
#ifndef KERNELS_CELU_H_
#define KERNELS_CELU_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* celu forward:  y = celu(x; alpha), element-wise:
 *   y = x for x > 0, alpha (exp(x / alpha) - 1) otherwise (torch's CELU).
 *   x, y: one shape (any ndim, any strides); y may be x itself (in place).
 *   Scalar parameters: alpha (finite, != 0, as torch requires; alpha < 0 is
 *   accepted, as by torch).
 * Invalid scalars are KN_ERR_INVALID_ARGUMENT, nothing written. */
KN_API kn_status kn_celu_forward(double alpha, const kn_tensor* x, const kn_tensor* y,
                                 const kn_exec* ex);

/* celu backward:  dx = dy * dcelu/dx, element-wise, from its input x:
 *   dcelu/dx = 1 for x > 0, exp(x / alpha) otherwise; dx = dy where x is NaN (as torch).
 *   dy, x, dx: one shape; dx may be dy itself (in place).
 *   Scalar parameters as in the forward. */
KN_API kn_status kn_celu_backward(double alpha, const kn_tensor* dy, const kn_tensor* x,
                                  const kn_tensor* dx, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_CELU_H_ */
