/* kernels/linear.h -- Linear (fully connected) layer.
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions written there (core.h) hold for every function below. */
#ifndef KERNELS_LINEAR_H_
#define KERNELS_LINEAR_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Linear (fully connected):  y = x w^T + b
 *   x:(N,in)  w:(out,in)  b:(out) or NULL  ->  y:(N,out)
 * N, in, out may be 0 (in = 0 gives y = b, or zeros). */
KN_API kn_status kn_linear_forward(const kn_tensor* x, const kn_tensor* w,
                                   const kn_tensor* b, const kn_tensor* y,
                                   const kn_exec* ex);

/* Linear backward, given dy = dL/dy:(N,out) and the forward inputs:
 *   dx:(N,in)   = dy w        (NULL = not needed)
 *   dw:(out,in) = dy^T x      (NULL = not needed; x may then be NULL too)
 *   db:(out)    = sum_n dy    (NULL = not needed)
 * w may be NULL when dx is NULL. */
KN_API kn_status kn_linear_backward(const kn_tensor* dy, const kn_tensor* x,
                                    const kn_tensor* w, const kn_tensor* dx,
                                    const kn_tensor* dw, const kn_tensor* db,
                                    const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_LINEAR_H_ */
