/* kernels/hardswish.h -- hardswish, element-wise: y = hardswish(x).
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions of kernels/core.h hold for both functions below.
 * The formulas: kernels/formulas/hardswish.hpp. */
#ifndef KERNELS_HARDSWISH_H_
#define KERNELS_HARDSWISH_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* hardswish forward:  y = hardswish(x), element-wise.
 *   x, y: one shape (any ndim, any strides); y may be x itself (in place).
 *   y = x min(max(x + 3, 0), 6) / 6 (torch's hardswish; hardswish(-inf) = NaN, as torch).
 *   Scalar parameters: none.
 * Invalid scalars are KN_ERR_INVALID_ARGUMENT, nothing written. */
KN_API kn_status kn_hardswish_forward(const kn_tensor* x, const kn_tensor* y,
                                      const kn_exec* ex);

/* hardswish backward:  dx = dy * dhardswish/dx, element-wise, from its input x.
 *   dx = 0 for x <= -3, dy (x / 3 + 1/2) for -3 < x < 3, dy for x >= 3 and at NaN
 *   (torch's one-sided choices at the kinks, measured on torch 2.13).
 *   dy, x, dx: one shape; dx may be dy itself (in place).
 *   Scalar parameters as in the forward. */
KN_API kn_status kn_hardswish_backward(const kn_tensor* dy, const kn_tensor* x,
                                       const kn_tensor* dx, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_HARDSWISH_H_ */
