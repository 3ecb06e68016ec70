/* kernels/relu6.h -- relu6, element-wise: y = relu6(x).
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions of kernels/core.h hold for both functions below.
 * The formulas: kernels/formulas/relu6.hpp. */
#ifndef KERNELS_RELU6_H_
#define KERNELS_RELU6_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* relu6 forward:  y = relu6(x), element-wise.
 *   x, y: one shape (any ndim, any strides); y may be x itself (in place).
 *   y = min(max(x, 0), 6) (torch's relu6 = hardtanh(x, 0, 6); NaN stays NaN, -0 stays -0).
 *   Scalar parameters: none.
 * Invalid scalars are KN_ERR_INVALID_ARGUMENT, nothing written. */
KN_API kn_status kn_relu6_forward(const kn_tensor* x, const kn_tensor* y,
                                  const kn_exec* ex);

/* relu6 backward:  dx = dy * drelu6/dx, element-wise, from its output y.
 *   dx = (y <= 0 || y >= 6) ? 0 : dy (torch's hardtanh_backward; y is strictly inside
 *   (0, 6) exactly where x is, so an in-place forward can train; NaN gives dy).
 *   dy, y, dx: one shape; dx may be dy itself (in place).
 *   Scalar parameters as in the forward. */
KN_API kn_status kn_relu6_backward(const kn_tensor* dy, const kn_tensor* y,
                                   const kn_tensor* dx, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_RELU6_H_ */
