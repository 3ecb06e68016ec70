/* kernels/hardsigmoid.h -- hardsigmoid, element-wise: y = hardsigmoid(x).
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions of kernels/core.h hold for both functions below.
 * The formulas: kernels/formulas/hardsigmoid.hpp. */
#ifndef KERNELS_HARDSIGMOID_H_
#define KERNELS_HARDSIGMOID_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* hardsigmoid forward:  y = hardsigmoid(x), element-wise.
 *   x, y: one shape (any ndim, any strides); y may be x itself (in place).
 *   y = min(max(x + 3, 0), 6) / 6 (torch's hardsigmoid; NaN stays NaN).
 *   Scalar parameters: none.
 * Invalid scalars are KN_ERR_INVALID_ARGUMENT, nothing written. */
KN_API kn_status kn_hardsigmoid_forward(const kn_tensor* x, const kn_tensor* y,
                                        const kn_exec* ex);

/* hardsigmoid backward:  dx = dy * dhardsigmoid/dx, element-wise, from its input x.
 *   dx = dy / 6 for -3 < x < 3, 0 elsewhere (the kinks and NaN included), as torch.
 *   dy, x, dx: one shape; dx may be dy itself (in place).
 *   Scalar parameters as in the forward. */
KN_API kn_status kn_hardsigmoid_backward(const kn_tensor* dy, const kn_tensor* x,
                                         const kn_tensor* dx, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_HARDSIGMOID_H_ */
