/* kernels/cross_entropy.h -- cross-entropy of logits.
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions written there (core.h) hold for every function below. */
#ifndef KERNELS_CROSS_ENTROPY_H_
#define KERNELS_CROSS_ENTROPY_H_

#include "kernels/core.h"
#include "kernels/nll_loss.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Cross-entropy of logits (log_softmax fused into nll_loss, with torch's
 * label smoothing e):  with lse_n = log sum_c exp(input[n, c]),
 *   loss_n = (1 - e) w[t_n] (lse_n - input[n, t_n])
 *          + (e / C) sum_c w[c] (lse_n - input[n, c])      (0 where ignored)
 * Outputs: out and total_weight as kn_nll_loss_forward. No per-row state is
 * saved: the backward recomputes each row's max and log-sum-exp from input
 * (a saved lse in float32 would lose about ulp(lse) -- 1e-3 at logits of 1e4
 * -- in every gradient; recomputing costs one more exp per element). */
KN_API kn_status kn_cross_entropy_forward(const kn_cross_entropy_params* p,
                                          const kn_tensor* input, const kn_tensor* target,
                                          const kn_tensor* weight, const kn_tensor* out,
                                          const kn_tensor* total_weight,
                                          const kn_exec* ex);

/* Cross-entropy backward, with s_c = softmax(input[n, :])_c, W = sum_c w[c]:
 *   dinput[n, c] = g_n ((1 - e) w[t_n] (s_c - [c == t_n]) + (e / C)(W s_c - w[c]))
 * (0 in ignored rows), g_n as for kn_nll_loss_backward. dinput: input's shape. */
KN_API kn_status kn_cross_entropy_backward(const kn_cross_entropy_params* p,
                                           const kn_tensor* dout, const kn_tensor* input,
                                           const kn_tensor* target, const kn_tensor* weight,
                                           const kn_tensor* total_weight,
                                           const kn_tensor* dinput, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_CROSS_ENTROPY_H_ */
