/* kernels/relu.h -- ReLU.
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions written there (core.h) hold for every function below. */
#ifndef KERNELS_RELU_H_
#define KERNELS_RELU_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ReLU:  y = max(x, 0), element-wise; x and y of one shape (any ndim).
 * y may be x itself (same data and strides): in-place. NaN propagates. */
KN_API kn_status kn_relu_forward(const kn_tensor* x, const kn_tensor* y,
                                 const kn_exec* ex);

/* ReLU backward:  dx = dy * (x > 0); dy, x, dx of one shape.
 * dx may be dy itself (in-place). */
KN_API kn_status kn_relu_backward(const kn_tensor* dy, const kn_tensor* x,
                                  const kn_tensor* dx, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_RELU_H_ */
