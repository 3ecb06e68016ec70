/* kernels/activations.h -- sigmoid, tanh, leaky_relu, GELU.
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions written there (core.h) hold for every function below. */
#ifndef KERNELS_ACTIVATIONS_H_
#define KERNELS_ACTIVATIONS_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Activations: element-wise, x/y/dy/dx of one shape (any ndim, any strides).
 * Every forward allows y to be x itself (same data and strides: in place),
 * every backward dx to be dy itself. NaN propagates. */

/* Sigmoid:  y = 1 / (1 + exp(-x)), computed without overflow for any x
 * (exp(-|x|) only), so tiny results keep their relative precision. */
KN_API kn_status kn_sigmoid_forward(const kn_tensor* x, const kn_tensor* y,
                                    const kn_exec* ex);

/* Sigmoid backward from the forward's OUTPUT y (as torch's sigmoid_backward):
 *   dx = dy * (1 - y) * y */
KN_API kn_status kn_sigmoid_backward(const kn_tensor* dy, const kn_tensor* y,
                                     const kn_tensor* dx, const kn_exec* ex);

/* Tanh:  y = tanh(x). */
KN_API kn_status kn_tanh_forward(const kn_tensor* x, const kn_tensor* y,
                                 const kn_exec* ex);

/* Tanh backward from the forward's OUTPUT y:  dx = dy * (1 - y^2) */
KN_API kn_status kn_tanh_backward(const kn_tensor* dy, const kn_tensor* y,
                                  const kn_tensor* dx, const kn_exec* ex);

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

#endif /* KERNELS_ACTIVATIONS_H_ */
