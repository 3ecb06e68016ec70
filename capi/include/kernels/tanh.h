/* kernels/tanh.h -- tanh, element-wise: y = tanh(x).
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions of kernels/core.h hold for both functions below.
 * The formulas: kernels/formulas/tanh.hpp. */
#ifndef KERNELS_TANH_H_
#define KERNELS_TANH_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element-wise, x/y/dy/dx of one shape (any ndim, any strides). The forward
 * allows y to be x itself (same data and strides: in place), the backward
 * dx to be dy itself. NaN propagates. */

/* Tanh:  y = tanh(x). */
KN_API kn_status kn_tanh_forward(const kn_tensor* x, const kn_tensor* y,
                                 const kn_exec* ex);

/* Tanh backward from the forward's OUTPUT y:  dx = dy * (1 - y^2) */
KN_API kn_status kn_tanh_backward(const kn_tensor* dy, const kn_tensor* y,
                                  const kn_tensor* dx, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_TANH_H_ */
