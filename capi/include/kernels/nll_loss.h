/* kernels/nll_loss.h -- negative log-likelihood loss; the options and shapes of the class-index losses.
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions written there (core.h) hold for every function below. */
#ifndef KERNELS_NLL_LOSS_H_
#define KERNELS_NLL_LOSS_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options of the class-index losses (kn_nll_loss_*, kn_cross_entropy_*), as
 * torch.nn.functional.nll_loss / cross_entropy:
 *   reduction        a kn_reduction
 *   ignore_index     targets equal to it contribute 0 loss, 0 weight, 0 gradient
 *   label_smoothing  in [0, 1]; must be 0 for nll_loss */
typedef struct {
  int32_t reduction;
  int64_t ignore_index;
  double  label_smoothing;
} kn_cross_entropy_params;

/* Shapes shared by the class-index losses ("rows" = the target's positions):
 *   input:  (N, C) or (N, C, d1, ..., dk) (the class dim is 1), or (C,) (unbatched)
 *   target: (N,) / (N, d1, ..., dk) / () -- int32 or int64, values in [0, C)
 *           or ignore_index
 *   weight: (C,) or NULL (= all ones); a Float tensor
 *   out:    target's shape for NONE, ndim 0 for MEAN and SUM
 *   total_weight: ndim 0, always written: sum over non-ignored rows of weight[target]
 * MEAN = sum of the rows' losses / total_weight (NaN when every target is
 * ignored or N = 0, as torch). Reductions accumulate in double in a fixed
 * order (deterministic for any thread count).
 * Out-of-range targets: the CPU kernels check every target before writing
 * anything and fail with KN_ERR_INVALID_ARGUMENT. The CUDA kernels cannot
 * report it without a synchronisation: such a row gets a NaN loss (so a MEAN
 * or SUM is NaN, and total_weight too) and NaN gradients. */

/* Negative log-likelihood of log-probabilities:
 *   loss_n = -weight[t_n] * input[n, t_n]  (0 where t_n == ignore_index) */
KN_API kn_status kn_nll_loss_forward(const kn_cross_entropy_params* p,
                                     const kn_tensor* input, const kn_tensor* target,
                                     const kn_tensor* weight, const kn_tensor* out,
                                     const kn_tensor* total_weight, const kn_exec* ex);

/* NLL backward: dinput[n, c] = -weight[c] * g_n where c == t_n, else 0, with
 *   g_n = dout[n] (NONE), dout (SUM), dout / total_weight (MEAN)
 *   dout: out's shape; total_weight: the forward's; dinput: input's shape. */
KN_API kn_status kn_nll_loss_backward(const kn_cross_entropy_params* p,
                                      const kn_tensor* dout, const kn_tensor* target,
                                      const kn_tensor* weight,
                                      const kn_tensor* total_weight,
                                      const kn_tensor* dinput, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_NLL_LOSS_H_ */
