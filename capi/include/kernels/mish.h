/* kernels/mish.h -- mish, element-wise: y = mish(x).
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions of kernels/core.h hold for both functions below.
 * The formulas: kernels/formulas/mish.hpp. */
#ifndef KERNELS_MISH_H_
#define KERNELS_MISH_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* mish forward:  y = mish(x), element-wise.
 *   x, y: one shape (any ndim, any strides); y may be x itself (in place).
 *   y = x tanh(log(1 + exp(x))) (torch's mish; mish(-inf) = NaN, as torch).
 *   Scalar parameters: none.
 * Invalid scalars are KN_ERR_INVALID_ARGUMENT, nothing written. */
KN_API kn_status kn_mish_forward(const kn_tensor* x, const kn_tensor* y,
                                 const kn_exec* ex);

/* mish backward:  dx = dy * dmish/dx, element-wise, from its input x.
 *   dx = dy (t + x sigmoid(x) (1 - t^2)), t = tanh(log(1 + exp(x))) (NaN at +-inf).
 *   dy, x, dx: one shape; dx may be dy itself (in place).
 *   Scalar parameters as in the forward. */
KN_API kn_status kn_mish_backward(const kn_tensor* dy, const kn_tensor* x,
                                  const kn_tensor* dx, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_MISH_H_ */
