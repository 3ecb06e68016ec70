/* kernels/gelu.h -- GELU, element-wise: y = x Phi(x), or its tanh form.
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions of kernels/core.h hold for both functions below.
 * The formulas: kernels/formulas/gelu.hpp. */
#ifndef KERNELS_GELU_H_
#define KERNELS_GELU_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element-wise, x/y/dy/dx of one shape (any ndim, any strides). The forward
 * allows y to be x itself (same data and strides: in place), the backward
 * dx to be dy itself. NaN propagates. */

/* GELU's form (as torch's `approximate` argument). */
typedef enum {
  KN_GELU_NONE = 0, /* y = x Phi(x) = x/2 (1 + erf(x / sqrt(2)))                   */
  KN_GELU_TANH = 1  /* y = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))          */
} kn_gelu_approximate;

/* GELU forward, in the form `approximate` (matches torch.nn.functional.gelu). */
KN_API kn_status kn_gelu_forward(kn_gelu_approximate approximate, const kn_tensor* x,
                                 const kn_tensor* y, const kn_exec* ex);

/* GELU backward from the forward's INPUT x (torch's gelu_backward formulas):
 *   NONE: dx = dy (Phi(x) + x phi(x)),  phi(x) = exp(-x^2/2) / sqrt(2 pi)
 *   TANH: u = sqrt(2/pi) (x + 0.044715 x^3), t = tanh(u),
 *         dx = dy (1/2 (1 + t) + x/2 (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)) */
KN_API kn_status kn_gelu_backward(kn_gelu_approximate approximate, const kn_tensor* dy,
                                  const kn_tensor* x, const kn_tensor* dx,
                                  const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_GELU_H_ */
