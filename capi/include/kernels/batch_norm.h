/* kernels/batch_norm.h -- batch normalisation (torch.nn.functional.batch_norm).
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions written there (core.h) hold for every function below. */
#ifndef KERNELS_BATCH_NORM_H_
#define KERNELS_BATCH_NORM_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parameters, as torch's F.batch_norm:
 *   eps       added to the variance, finite and >= 0
 *   momentum  torch's exponential_average_factor, finite: the running stats become
 *             (1 - momentum) running + momentum batch. (torch's momentum=None, the
 *             cumulative average, is momentum = 1 / num_batches_tracked, computed by
 *             the caller, as torch's module does.)
 *   training  1: normalise with the batch's statistics (and update the running
 *             stats when given); 0: normalise with the running statistics. */
typedef struct {
  double eps;
  double momentum;
  int32_t training;
} kn_batch_norm_params;

/* Shapes: x, y, dy, dx: (N, C, *) with 2 to KN_MAX_DIMS dims (BatchNorm1d (N,C) and
 * (N,C,L), 2d (N,C,H,W), 3d (N,C,D,H,W)); every other tensor is (C). M = N * prod(*)
 * values per channel. One float dtype (float32 / float64) for all; any strides (a
 * channels-last x is read in place, no copy).
 *
 * Forward, per channel c (sums over the M values x[n, c, ...]):
 *   training: mean = sum(x) / M,  var = sum((x - mean)^2) / M  (biased)
 *             save_mean = mean,  save_invstd = 1 / sqrt(var + eps)
 *             running_mean = (1 - momentum) running_mean + momentum mean
 *             running_var  = (1 - momentum) running_var
 *                            + momentum var M / (M - 1)        (UNBIASED, as torch)
 *   eval:     save_mean = running_mean,  save_invstd = 1 / sqrt(running_var + eps)
 *             (running stats read only, and required)
 *   both:     y = (x - save_mean) save_invstd weight + bias  (weight NULL = 1, bias NULL = 0),
 *             computed as y = x a + b with a = save_invstd weight, b = bias - save_mean a.
 * running_mean and running_var are IN/OUT: both or neither (NULL: not tracked, training
 * only). Training with M == 1 is KN_ERR_INVALID_ARGUMENT ("expected more than 1 value
 * per channel when training", as torch). M == 0 (N == 0): nothing to normalise; in
 * training save_mean = 0, save_invstd = 0 and the running stats are left unchanged.
 * Statistics are accumulated in double (shifted by the channel's first value) and are
 * bitwise the same for any thread count. y may not overlap any other argument. */
KN_API kn_status kn_batch_norm_forward(const kn_batch_norm_params* p, const kn_tensor* x,
                                       const kn_tensor* weight, const kn_tensor* bias,
                                       const kn_tensor* running_mean,
                                       const kn_tensor* running_var, const kn_tensor* y,
                                       const kn_tensor* save_mean, const kn_tensor* save_invstd,
                                       const kn_exec* ex);

/* Backward, from save_mean / save_invstd of the forward (mean, invstd below) and the
 * same p->training (eps and momentum are not used). Per channel c, xhat = (x - mean) invstd:
 *   dbias   = sum(dy)
 *   dweight = sum(dy (x - mean)) invstd                      (= sum(dy xhat))
 *   training: dx = (dy - sum(dy) / M - (x - mean) invstd^2 sum(dy (x - mean)) / M)
 *                  invstd weight
 *   eval:     dx = dy invstd weight   (the statistics are constants)
 * weight NULL = 1. dx, dweight, dbias may each be NULL (not needed). Sums in double,
 * bitwise the same for any thread count. M == 0: dx empty, dweight = dbias = 0. */
KN_API kn_status kn_batch_norm_backward(const kn_batch_norm_params* p, const kn_tensor* dy,
                                        const kn_tensor* x, const kn_tensor* weight,
                                        const kn_tensor* save_mean, const kn_tensor* save_invstd,
                                        const kn_tensor* dx, const kn_tensor* dweight,
                                        const kn_tensor* dbias, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_BATCH_NORM_H_ */
