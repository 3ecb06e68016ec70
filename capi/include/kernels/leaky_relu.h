/* kernels/leaky_relu.h -- leaky ReLU, element-wise: y = x > 0 ? x : negative_slope * x.
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions of kernels/core.h hold for both functions below.
 * The formulas: kernels/formulas/leaky_relu.hpp. */
#ifndef KERNELS_LEAKY_RELU_H_
#define KERNELS_LEAKY_RELU_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element-wise, x/y/dy/dx of one shape (any ndim, any strides). The forward
 * allows y to be x itself (same data and strides: in place), the backward
 * dx to be dy itself. NaN propagates. */

/* Leaky ReLU:  y = x > 0 ? x : negative_slope * x  (negative_slope finite,
 * any sign; converted to the tensors' dtype first, as torch does). */
KN_API kn_status kn_leaky_relu_forward(double negative_slope, const kn_tensor* x,
                                       const kn_tensor* y, const kn_exec* ex);

/* Leaky ReLU backward (as torch's leaky_relu_backward):
 *   dx = self > 0 ? dy : negative_slope * dy
 * `self` is the forward's input x (self_is_result = 0) or its result y
 * (self_is_result = 1, after an in-place forward; y > 0 exactly where x > 0
 * for negative_slope >= 0). self_is_result = 1 with negative_slope < 0 is
 * KN_ERR_INVALID_ARGUMENT: the sign of x cannot be recovered from y. */
KN_API kn_status kn_leaky_relu_backward(double negative_slope, int32_t self_is_result,
                                        const kn_tensor* dy, const kn_tensor* self,
                                        const kn_tensor* dx, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_LEAKY_RELU_H_ */
