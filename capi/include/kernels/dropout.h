/* kernels/dropout.h -- dropout.
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions written there (core.h) hold for every function below. */
#ifndef KERNELS_DROPOUT_H_
#define KERNELS_DROPOUT_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Dropout (training):  mask = keep(seed, i) with probability 1 - p,
 *   y = x * mask * scale,   scale = 1 / (1 - p)  (0 for p = 1: y = x * 0)
 * x, y: one float shape (any ndim, any strides); mask: that shape, dtype
 * KN_UINT8 or KN_BOOL, written as 0 / 1. p in [0, 1]: p = 0 keeps every
 * element, p = 1 drops every one. y may be x itself (in place); mask is a
 * separate output.
 *
 * The mask is a pure function of (seed, shape): element i (its LOGICAL
 * row-major index) is kept iff word (i % 4) of Philox-4x32-10(counter = i / 4,
 * key = seed) is >= floor(p * 2^32). So it is identical on CPU and CUDA, for
 * any strides and any thread count. */
KN_API kn_status kn_dropout_forward(double p, uint64_t seed, const kn_tensor* x,
                                    const kn_tensor* y, const kn_tensor* mask,
                                    const kn_exec* ex);

/* Dropout backward:  dx = dy * mask * scale (scale as in the forward; p in
 * [0, 1]). dy, dx: one float shape; mask: that shape, KN_UINT8 or KN_BOOL
 * (any nonzero byte counts as kept). dx may be dy itself (in place). */
KN_API kn_status kn_dropout_backward(double p, const kn_tensor* dy, const kn_tensor* mask,
                                     const kn_tensor* dx, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_DROPOUT_H_ */
