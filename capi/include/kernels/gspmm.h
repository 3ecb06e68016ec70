/* kernels/gspmm.h -- graph: CSR transpose and generalized sparse-dense matrix multiplication.
 * Part of the libkernels C ABI: kernels/kernels.h includes it, and the
 * conventions written there (core.h) hold for every function below. */
#ifndef KERNELS_GSPMM_H_
#define KERNELS_GSPMM_H_

#include "kernels/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Generalized sparse-dense matrix multiplication (gSpMM) over a graph in CSR
 * form, rows = destination nodes:
 *
 *   indptr:  (num_dst + 1)  int32/int64, indptr[0] = 0, non-decreasing,
 *            indptr[num_dst] = E
 *   indices: (E)            int32/int64 (indptr's dtype), source node ids in
 *            [0, num_src); duplicates allowed (each is a separate edge)
 *   edge k in [0, E) goes from src = indices[k] to the row v that holds it.
 *
 *   y[v, f] = REDUCE over edges k of row v of  msg(k, f),
 *     msg = x[indices[k], f]                   (KN_GSPMM_COPY_U)
 *         = x[indices[k], f] * edge_values[k]  (KN_GSPMM_U_MUL_E)
 *   REDUCE: sum, mean (sum / row length), max, min. A row with no edges
 *   gives 0 (as torch.sparse.mm with reduce=), and receives no gradient.
 *   NaN propagates as in torch.sparse.mm: a NaN message makes the sum/mean
 *   NaN, and wins max/min (arg = the first NaN's edge).
 *
 * Dtypes: x, y, edge_values, dy, dx, dedge share one float dtype (float32 or
 * float64); indptr, indices and the transposed graph share one index dtype
 * (int32 or int64); arg is int32 or int64 on its own (int32 needs E <= 2^31-1).
 * Every tensor may have any strides (0 and negative included; outputs must
 * not overlap themselves or any other argument). The CPU kernels are
 * deterministic and independent of the thread count (each output row is
 * computed by one thread, rows split between threads by edge count). */
typedef enum {
  KN_GSPMM_COPY_U  = 0, /* message = x[src]                      */
  KN_GSPMM_U_MUL_E = 1  /* message = x[src] * edge_values[edge]  */
} kn_gspmm_message;

typedef enum {
  KN_GSPMM_SUM  = 0,
  KN_GSPMM_MEAN = 1,
  KN_GSPMM_MAX  = 2,
  KN_GSPMM_MIN  = 3
} kn_gspmm_reduce;

typedef struct {
  int32_t message;          /* kn_gspmm_message */
  int32_t reduce;           /* kn_gspmm_reduce  */
  /* 0 (the default of a zeroed struct): a CPU call checks the graph in O(E)
   * before touching memory (indptr starts at 0, is non-decreasing and ends at
   * E; every index in range). 1: the caller vouches for the graph (e.g. it
   * was checked once when built) and only the O(1) checks run. CUDA calls
   * never scan (that would need a device sync): their kernels skip an
   * out-of-range index instead of reading out of bounds. */
  int32_t skip_index_check;
} kn_gspmm_params;

/* Transpose of a CSR graph (its CSC form), for the backward pass:
 *   indptr:(num_dst+1), indices:(E)  ->
 *   t_indptr:(num_src+1), t_indices:(E) destination ids, t_edge_ids:(E) the
 *   position k of each edge in the forward CSR.
 * num_src is t_indptr's length - 1. All five tensors share one index dtype.
 * Within each source's list the edges are in increasing k (deterministic).
 * Build it once per graph and keep it: every backward call reuses it. */
KN_API kn_status kn_csr_transpose(const kn_tensor* indptr, const kn_tensor* indices,
                                  const kn_tensor* t_indptr, const kn_tensor* t_indices,
                                  const kn_tensor* t_edge_ids, const kn_exec* ex);

/* gSpMM forward (see above):
 *   indptr:(num_dst+1) indices:(E)  edge_values:(E) float, required for
 *   U_MUL_E (NULL for COPY_U)  x:(num_src, F) any strides  ->  y:(num_dst, F)
 *   arg:(num_dst, F) int32/int64 for MAX/MIN (NULL for SUM/MEAN): the edge
 *   position k that won each y[v, f] (first one on ties), -1 for an empty
 *   row. Keep it for the backward.
 *   edge_values must be NULL for COPY_U and arg NULL for SUM/MEAN
 *   (KN_ERR_INVALID_ARGUMENT otherwise). A bad graph on the CPU (unless
 *   p->skip_index_check) is KN_ERR_INVALID_ARGUMENT naming the first
 *   offending entry, e.g. "kn_gspmm_forward: indices[17] = 40 is out of
 *   range [0, 34)"; nothing is written then. */
KN_API kn_status kn_gspmm_forward(const kn_gspmm_params* p, const kn_tensor* indptr,
                                  const kn_tensor* indices, const kn_tensor* edge_values,
                                  const kn_tensor* x, const kn_tensor* y,
                                  const kn_tensor* arg, const kn_exec* ex);

/* gSpMM backward, given dy = dL/dy:(num_dst, F):
 *   dx:(num_src, F) (NULL = not needed) through the transposed graph
 *     (t_indptr, t_indices, t_edge_ids from kn_csr_transpose; needed only
 *     for dx):  dx[u] = sum over edges k = (u -> v) of dy[v] * d msg / d x
 *   dedge:(E) (NULL = not needed; U_MUL_E only): dedge[k] = sum_f dy[v, f]
 *     * x[u, f] * (1/len(v) for MEAN; [arg[v, f] == k] for MAX/MIN);
 *     needs x.
 *   edge_values: as in the forward (U_MUL_E, needed for dx);
 *   arg: the forward's arg output (MAX/MIN; NULL for SUM/MEAN).
 *   num_src is dx's rows, else x's, else t_indptr's length - 1. x: required
 *   for dedge, optional otherwise. dedge and edge_values must be NULL for
 *   COPY_U. The CPU check of the graph (unless p->skip_index_check) covers
 *   indptr always, indices when dedge is requested, and t_indptr (0 .. E),
 *   t_indices (in [0, num_dst)), t_edge_ids (in [0, E)) when dx is.
 *   Each output element is written by one thread: deterministic, no atomics. */
KN_API kn_status kn_gspmm_backward(const kn_gspmm_params* p, const kn_tensor* dy,
                                   const kn_tensor* indptr, const kn_tensor* indices,
                                   const kn_tensor* t_indptr, const kn_tensor* t_indices,
                                   const kn_tensor* t_edge_ids,
                                   const kn_tensor* edge_values, const kn_tensor* x,
                                   const kn_tensor* arg, const kn_tensor* dx,
                                   const kn_tensor* dedge, const kn_exec* ex);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KERNELS_GSPMM_H_ */
