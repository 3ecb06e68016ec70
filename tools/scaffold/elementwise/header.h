/* kernels/@@op@@.h -- @@op@@, element-wise: y = @@op@@(x@@doc_params@@).
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions of kernels/core.h hold for both functions below.
 * The formulas: kernels/formulas/@@op@@.hpp. */
#ifndef KERNELS_@@OP@@_H_
#define KERNELS_@@OP@@_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* @@op@@ forward:  y = @@op@@(x@@doc_params@@), element-wise.
 *   x, y: one shape (any ndim, any strides); y may be x itself (in place).
 *   Scalar parameters: @@doc_param_rules@@.
 * Invalid scalars are KN_ERR_INVALID_ARGUMENT, nothing written. */
KN_API kn_status kn_@@op@@_forward(@@c_params@@const kn_tensor* x, const kn_tensor* y,
@@fwd_pad@@const kn_exec* ex);

/* @@op@@ backward:  dx = dy * d@@op@@/dx, element-wise, from @@saved_doc@@.
 *   dy, @@saved@@, dx: one shape; dx may be dy itself (in place).
 *   Scalar parameters as in the forward. */
KN_API kn_status kn_@@op@@_backward(@@c_params@@const kn_tensor* dy, const kn_tensor* @@saved@@,
@@bwd_pad@@const kn_tensor* dx, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_@@OP@@_H_ */
