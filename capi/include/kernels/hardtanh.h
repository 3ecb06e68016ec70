/* kernels/hardtanh.h -- hardtanh, element-wise: y = hardtanh(x; min_val, max_val).
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions of kernels/core.h hold for both functions below.
 * The formulas: kernels/formulas/hardtanh.hpp. */
#ifndef KERNELS_HARDTANH_H_
#define KERNELS_HARDTANH_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* hardtanh forward:  y = hardtanh(x; min_val, max_val), element-wise.
 *   x, y: one shape (any ndim, any strides); y may be x itself (in place).
 *   y = min(max(x, min_val), max_val) (a clamp: NaN stays NaN, -0 stays -0).
 *   Scalar parameters: min_val (finite), max_val (finite), min_val <= max_val:
 *   min_val > max_val is refused (as torch's hardtanh refuses it); min_val ==
 *   max_val is accepted (a constant, gradient 0), as torch.nn.functional.hardtanh.
 * Invalid scalars are KN_ERR_INVALID_ARGUMENT, nothing written. */
KN_API kn_status kn_hardtanh_forward(double min_val, double max_val, const kn_tensor* x, const kn_tensor* y,
                                     const kn_exec* ex);

/* hardtanh backward:  dx = dy * dhardtanh/dx, element-wise, from its output y:
 *   dx = (y <= min_val || y >= max_val) ? 0 : dy (torch's hardtanh_backward; y is
 *   strictly inside (min_val, max_val) exactly where x is, so an in-place forward
 *   that kept only y can train; NaN gives dy).
 *   dy, y, dx: one shape; dx may be dy itself (in place).
 *   Scalar parameters as in the forward. */
KN_API kn_status kn_hardtanh_backward(double min_val, double max_val, const kn_tensor* dy, const kn_tensor* y,
                                      const kn_tensor* dx, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_HARDTANH_H_ */
