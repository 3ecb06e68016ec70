/* kernels/mse_loss.h -- Mean squared error loss.
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions written there (core.h) hold for every function below. */
#ifndef KERNELS_MSE_LOSS_H_
#define KERNELS_MSE_LOSS_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Mean squared error:  l = (input - target)^2, then reduced.
 *   input, target: same shape (any ndim)
 *   out: input's shape for NONE; ndim 0 for MEAN and SUM.
 * MEAN over zero elements gives NaN (as torch). Reductions accumulate in
 * double and are deterministic for any thread count. */
KN_API kn_status kn_mse_loss_forward(kn_reduction reduction,
                                     const kn_tensor* input,
                                     const kn_tensor* target,
                                     const kn_tensor* out, const kn_exec* ex);

/* MSE backward, given dout = dL/dout (input's shape for NONE, ndim 0 for
 * MEAN and SUM):
 *   dinput  = 2 (input - target) dout  [/ numel for MEAN]   (NULL = not needed)
 *   dtarget = -dinput                                       (NULL = not needed) */
KN_API kn_status kn_mse_loss_backward(kn_reduction reduction,
                                      const kn_tensor* dout,
                                      const kn_tensor* input,
                                      const kn_tensor* target,
                                      const kn_tensor* dinput,
                                      const kn_tensor* dtarget,
                                      const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_MSE_LOSS_H_ */
