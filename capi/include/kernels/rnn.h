/* kernels/rnn.h -- recurrent layers: RNN (tanh / relu), LSTM (with optional
 * projection), GRU. One call runs ONE layer in ONE direction over a whole
 * sequence; a multi-layer or bidirectional network is several calls (the
 * directions write the two halves of one output through its strides).
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions written there (core.h) hold for every function below.
 *
 * The maths, with torch's gate order and formulas (torch.nn.RNN / LSTM / GRU),
 * for the rows n < batch(t) active at step t:
 *   RNN:  h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),  act = tanh | relu
 *   LSTM: [i f g o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh  (4H, in this order)
 *         i, f, o = sigmoid(.), g = tanh(.)
 *         c_t = f c_{t-1} + i g;   m_t = o tanh(c_t)
 *         h_t = m_t, or W_hr m_t with a projection (proj_size P > 0)
 *   GRU:  [r z n]: r = sigmoid(W_ir x + b_ir + W_hr h + b_hr),
 *                  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz),
 *                  n = tanh(W_in x + b_in + r (W_hn h + b_hn))
 *         h_t = (1 - z) n + z h_{t-1}
 * Shapes (H = hidden_size, Hout = P if P > 0 else H, G = 1 | 4 | 3 gates):
 *   x   padded: (T, N, I), any strides (a batch-first input is its transpose);
 *       packed: (total, I), the rows of step t following those of step t-1,
 *       as torch.nn.utils.rnn.PackedSequence.data
 *   h0 (N, Hout) and c0 (N, H, LSTM only): the initial state; NULL = zeros
 *   w_ih (G H, I), w_hh (G H, Hout), b_ih and b_hh (G H) or NULL (no bias),
 *   w_hr (P, H) exactly when P > 0 (LSTM only)
 *   y   padded: (T, N, Hout); packed: (total, Hout): every h_t, any strides
 *   h_n (N, Hout), c_n (N, H): the state after each sequence's LAST step
 *       (for a packed sequence, the step of its own length); NULL = not needed
 *   reserve (rows, kn_rnn_reserve_cols(p)): what backward needs (the gate
 *       activations, each step's incoming h and c); rows = T N padded or
 *       total packed. Its layout is internal: pass it unchanged from the
 *       forward to the backward of the same call. Required, also for
 *       inference, where it is the forward's scratch. Contiguous rows:
 *       strides (cols, 1) (a single row's stride is not looked at).
 * All float tensors share one dtype (float32 or float64) and one device. */
#ifndef KERNELS_RNN_H_
#define KERNELS_RNN_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { KN_RNN_TANH = 0, KN_RNN_RELU = 1, KN_LSTM = 2, KN_GRU = 3 } kn_rnn_mode;

typedef struct {
  int32_t mode;               /* kn_rnn_mode */
  int32_t reverse;            /* 0: steps t = 0 .. T-1;  1: t = T-1 .. 0 */
  int64_t hidden_size;        /* H >= 1 */
  int64_t proj_size;          /* LSTM only: 0 = none, else 0 < P < H */
  const int64_t* batch_sizes; /* NULL = padded x. Packed: host memory, num_steps
                                 entries, batch_sizes[0] = N >= ... >= batch_sizes[T-1] >= 1 */
  int64_t num_steps;          /* packed: T, the length of batch_sizes; padded: unused */
} kn_rnn_params;

/* The number of columns of the reserve tensor for these params (rows are the
 * (step, sequence) pairs: T N padded, total packed). */
KN_API kn_status kn_rnn_reserve_cols(const kn_rnn_params* p, int64_t* cols);

/* Bytes of device scratch kn_rnn_backward needs for `rows` (step, sequence)
 * pairs over a batch of N sequences in dtype (KN_FLOAT32 / KN_FLOAT64). On
 * CUDA pass at least that much as ex->workspace (KN_ERR_WORKSPACE_TOO_SMALL
 * otherwise; the library never allocates device memory); on the CPU the
 * library allocates it itself and ex->workspace is not used. */
KN_API kn_status kn_rnn_backward_workspace_size(const kn_rnn_params* p, int64_t rows, int64_t N,
                                                int32_t dtype, size_t* bytes);

/* One layer, one direction, over the whole sequence: one GEMM for every
 * step's input projection (per step where a padded x's rows do not merge),
 * then per step one recurrent GEMM and one fused kernel for the gates. */
KN_API kn_status kn_rnn_forward(const kn_rnn_params* p, const kn_tensor* x, const kn_tensor* h0,
                                const kn_tensor* c0, const kn_tensor* w_ih,
                                const kn_tensor* w_hh, const kn_tensor* b_ih,
                                const kn_tensor* b_hh, const kn_tensor* w_hr, const kn_tensor* y,
                                const kn_tensor* h_n, const kn_tensor* c_n,
                                const kn_tensor* reserve, const kn_exec* ex);

/* Backward through time of the forward with the same p and shapes.
 *   in:  x (needed only for dw_ih), w_ih (only for dx), w_hh, w_hr (P > 0),
 *        reserve (the forward's), dy (the shape of y), dh_n (N, Hout),
 *        dc_n (N, H); each of dy, dh_n, dc_n may be NULL = zeros
 *   out: dx (x's shape), dh0 (N, Hout), dc0 (N, H, LSTM), dw_ih, dw_hh,
 *        db_ih, db_hh, dw_hr (their weights' shapes); each may be NULL =
 *        not needed. Written whole (=); the weight and bias gradients are
 *        summed over every step, each with one GEMM (one reduction) over
 *        all the (step, sequence) rows, not one per step. */
KN_API kn_status kn_rnn_backward(const kn_rnn_params* p, const kn_tensor* x,
                                 const kn_tensor* w_ih, const kn_tensor* w_hh,
                                 const kn_tensor* w_hr, const kn_tensor* reserve,
                                 const kn_tensor* dy, const kn_tensor* dh_n,
                                 const kn_tensor* dc_n, const kn_tensor* dx, const kn_tensor* dh0,
                                 const kn_tensor* dc0, const kn_tensor* dw_ih,
                                 const kn_tensor* dw_hh, const kn_tensor* db_ih,
                                 const kn_tensor* db_hh, const kn_tensor* dw_hr,
                                 const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_RNN_H_ */
