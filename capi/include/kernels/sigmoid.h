/* kernels/sigmoid.h -- sigmoid, element-wise: y = 1 / (1 + exp(-x)).
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions of kernels/core.h hold for both functions below.
 * The formulas: kernels/formulas/sigmoid.hpp. */
#ifndef KERNELS_SIGMOID_H_
#define KERNELS_SIGMOID_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element-wise, x/y/dy/dx of one shape (any ndim, any strides). The forward
 * allows y to be x itself (same data and strides: in place), the backward
 * dx to be dy itself. NaN propagates. */

/* Sigmoid:  y = 1 / (1 + exp(-x)), computed without overflow for any x
 * (exp(-|x|) only), so tiny results keep their relative precision. */
KN_API kn_status kn_sigmoid_forward(const kn_tensor* x, const kn_tensor* y,
                                    const kn_exec* ex);

/* Sigmoid backward from the forward's OUTPUT y (as torch's sigmoid_backward):
 *   dx = dy * (1 - y) * y */
KN_API kn_status kn_sigmoid_backward(const kn_tensor* dy, const kn_tensor* y,
                                     const kn_tensor* dx, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_SIGMOID_H_ */
