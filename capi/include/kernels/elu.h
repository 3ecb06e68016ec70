/* kernels/elu.h -- elu, element-wise: y = elu(x; alpha).
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions of kernels/core.h hold for both functions below.
 * The formulas: kernels/formulas/elu.hpp. */
#ifndef KERNELS_ELU_H_
#define KERNELS_ELU_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* elu forward:  y = elu(x; alpha), element-wise.
 *   x, y: one shape (any ndim, any strides); y may be x itself (in place).
 *   y = alpha (exp(x) - 1) for x < 0 (expm1: no cancellation near 0), x for x >= 0
 *   (so elu(-0) = -0 and elu(+0) = +0 whatever alpha's sign, as torch);
 *   any finite alpha (0 and negative included, as torch's functional elu).
 *   Scalar parameters: alpha (finite).
 * Invalid scalars are KN_ERR_INVALID_ARGUMENT, nothing written. */
KN_API kn_status kn_elu_forward(double alpha, const kn_tensor* x, const kn_tensor* y,
                                const kn_exec* ex);

/* elu backward:  dx = dy * delu/dx, element-wise, from its input x.
 *   dx = x <= 0 ? dy alpha exp(x) : dy (torch's, from the input: a negative alpha
 *   makes y ambiguous, so the backward takes x; NaN gives dy).
 *   dy, x, dx: one shape; dx may be dy itself (in place).
 *   Scalar parameters as in the forward. */
KN_API kn_status kn_elu_backward(double alpha, const kn_tensor* dy, const kn_tensor* x,
                                 const kn_tensor* dx, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_ELU_H_ */
