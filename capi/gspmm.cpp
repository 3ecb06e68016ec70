// C entry points of the gSpMM graph operator (kn_csr_transpose,
// kn_gspmm_forward, kn_gspmm_backward): validate the descriptors, then (CPU,
// unless p->skip_index_check) scan the graph in O(E) so that a bad index is
// an error naming its position instead of an out-of-bounds read; then run
// the CPU or CUDA kernel. CUDA calls never scan (that would need a device
// sync): the CUDA kernels skip out-of-range indices instead.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "capi/boundary.hpp"
#include "capi/validate.hpp"
#include "kernels/internal/dispatch.hpp"
#include "kernels/ops/gspmm.hpp"

namespace {

using kn::capi::Dim;
using kn::capi::Kind;
using kn::capi::OpValidator;

const kn_gspmm_params& check_params(OpValidator& v, const kn_gspmm_params* p) {
  v.require(p != nullptr, KN_ERR_INVALID_ARGUMENT, "p: must not be NULL");
  v.expect_range(p->message, "p->message", KN_GSPMM_COPY_U, KN_GSPMM_U_MUL_E);
  v.expect_range(p->reduce, "p->reduce", KN_GSPMM_SUM, KN_GSPMM_MIN);
  v.expect_range(p->skip_index_check, "p->skip_index_check", 0, 1);
  return *p;
}

bool is_max_min(const kn_gspmm_params& p) {
  return p.reduce == KN_GSPMM_MAX || p.reduce == KN_GSPMM_MIN;
}

// arg:(num_dst, F), the forward's argmax/argmin output: required exactly for MAX/MIN
// (NULL otherwise), and wide enough for the edge positions [0, E).
void check_arg(OpValidator& v, const kn_gspmm_params& P, const kn_tensor* A, int64_t V,
               int64_t F, int64_t E, const char* f_from) {
  if (is_max_min(P)) {
    v.require(A != nullptr, KN_ERR_INVALID_ARGUMENT,
              "arg: must not be NULL for p->reduce = KN_GSPMM_MAX or KN_GSPMM_MIN");
    v.expect_shape(*A, "arg", {{V, "num_dst from indptr"}, {F, f_from}});
    v.require(A->dtype == KN_INT64 || E <= INT32_MAX, KN_ERR_INVALID_ARGUMENT,
              "arg: int32 cannot hold the edge positions of E = ", E, " edges (use int64)");
  } else {
    v.require(A == nullptr, KN_ERR_INVALID_ARGUMENT,
              "arg: must be NULL for p->reduce = KN_GSPMM_SUM or KN_GSPMM_MEAN, got a tensor");
  }
}

// A 1-d index tensor that must share `like`'s index dtype.
void same_index_dtype(OpValidator& v, const kn_tensor& t, const char* name, const kn_tensor& like,
                      const char* like_name) {
  v.require(t.dtype == like.dtype, KN_ERR_INVALID_ARGUMENT, name, ": dtype ", kn::dtype_name(t.dtype),
            " does not match ", like_name, "'s ", kn::dtype_name(like.dtype),
            " (all graph index tensors share one index dtype)");
}

// indptr:(n + 1,) with at least one element; returns n.
int64_t rows_of_indptr(OpValidator& v, const kn_tensor& indptr, const char* name, const char* what) {
  v.require(indptr.shape[0] >= 1, KN_ERR_SHAPE_MISMATCH, name, ": expected shape (", what,
            " + 1,) with at least one element, got (0,)");
  return indptr.shape[0] - 1;
}

// ---------------------------------------------------------------- O(E) scans

// Entries per thread below which a scan runs serially.
constexpr int64_t kScanGrain = int64_t(1) << 16;

// The first i in [0, n) with bad(i), else n; chunks scanned in parallel, the
// smallest position wins (so the message does not depend on the threads).
// Blocks of kScanBlock are tested without an early exit (a loop the compiler
// vectorises); only a block with a bad entry is searched for its position.
constexpr int64_t kScanBlock = 1024;

template <typename Bad>
int64_t first_bad(int64_t n, int threads, Bad&& bad) {
  if (n <= 0) return n;
  const int nt = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, n / kScanGrain)));
  std::vector<int64_t> first(static_cast<size_t>(nt), n);
  kn::parallel_for(nt, 1, nt, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b)
      for (int64_t i = int64_t(__int128(n) * b / nt), e = int64_t(__int128(n) * (b + 1) / nt); i < e;
           i += kScanBlock) {
        const int64_t end = std::min(e, i + kScanBlock);
        int any = 0;
        for (int64_t j = i; j < end; ++j) any |= bad(j);
        if (!any) continue;
        int64_t j = i;
        while (!bad(j)) ++j;
        first[b] = j;
        break;
      }
  });
  return *std::min_element(first.begin(), first.end());
}

// indptr[0] = 0, non-decreasing, indptr[n] = E.
void scan_indptr(OpValidator& v, const kn_tensor& indptr, const char* name, int64_t E,
                 const char* e_from, int threads) {
  kn::dispatch_index(indptr.dtype, v.op(), [&](auto itag) {
    using I = decltype(itag);
    const I* p = kn::data_as<const I>(indptr);
    const int64_t s = indptr.strides[0], n = indptr.shape[0] - 1;
    v.require(p[0] == 0, KN_ERR_INVALID_ARGUMENT, name, "[0] = ", int64_t(p[0]), ", expected 0");
    const int64_t i =
        1 + (s == 1 ? first_bad(n, threads, [&](int64_t j) { return int(p[j + 1] < p[j]); })
                    : first_bad(n, threads, [&](int64_t j) { return int(p[(j + 1) * s] < p[j * s]); }));
    if (i <= n)
      v.require(false, KN_ERR_INVALID_ARGUMENT, name, "[", i, "] = ", int64_t(p[i * s]), " is less than ",
                name, "[", i - 1, "] = ", int64_t(p[(i - 1) * s]), " (it must be non-decreasing)");
    const int64_t last = p[n * s];
    v.require(last == E, KN_ERR_INVALID_ARGUMENT, name, "[", n, "] = ", last, ", expected E = ", E,
              " (", e_from, ")");
  });
}

// Every element of the 1-d index tensor t in [0, hi).
void scan_range(OpValidator& v, const kn_tensor& t, const char* name, int64_t hi, int threads) {
  kn::dispatch_index(t.dtype, v.op(), [&](auto itag) {
    using I = decltype(itag);
    const I* p = kn::data_as<const I>(t);
    const int64_t s = t.strides[0], n = t.shape[0];
    // One unsigned compare: negative values wrap to huge ones.
    const uint64_t limit = static_cast<uint64_t>(hi);
    auto out = [limit](I value) { return int(static_cast<uint64_t>(static_cast<int64_t>(value)) >= limit); };
    const int64_t i = s == 1 ? first_bad(n, threads, [&](int64_t j) { return out(p[j]); })
                             : first_bad(n, threads, [&](int64_t j) { return out(p[j * s]); });
    if (i < n)
      v.require(false, KN_ERR_INVALID_ARGUMENT, name, "[", i, "] = ", int64_t(p[i * s]),
                " is out of range [0, ", hi, ")");
  });
}

// The thread count a call will use (scans run before OpValidator::run).
int scan_threads(const kn_exec* ex) {
  return kn::resolve_num_threads(ex && ex->num_threads > 0 ? ex->num_threads : 0);
}

bool scans(const kn_gspmm_params* p, const kn_tensor& any) {
  return any.device_type == KN_DEVICE_CPU && (p == nullptr || !p->skip_index_check);
}

}  // namespace

extern "C" {

kn_status kn_csr_transpose(const kn_tensor* indptr, const kn_tensor* indices,
                           const kn_tensor* t_indptr, const kn_tensor* t_indices,
                           const kn_tensor* t_edge_ids, const kn_exec* ex) {
  return kn::capi::guard("kn_csr_transpose", [&] {
    OpValidator v("kn_csr_transpose");
    const kn_tensor& IP = v.input(indptr, "indptr", 1, Kind::Index);
    const kn_tensor& IX = v.input(indices, "indices", 1, Kind::Index);
    same_index_dtype(v, IX, "indices", IP, "indptr");
    const int64_t V = rows_of_indptr(v, IP, "indptr", "num_dst");
    const int64_t E = IX.shape[0];
    const kn_tensor& TP = v.output(t_indptr, "t_indptr", 1, Kind::Index);
    same_index_dtype(v, TP, "t_indptr", IP, "indptr");
    const int64_t U = rows_of_indptr(v, TP, "t_indptr", "num_src");
    const kn_tensor& TI = v.output(t_indices, "t_indices", 1, Kind::Index);
    same_index_dtype(v, TI, "t_indices", IP, "indptr");
    v.expect_shape(TI, "t_indices", {{E, "E from indices"}});
    const kn_tensor& TE = v.output(t_edge_ids, "t_edge_ids", 1, Kind::Index);
    same_index_dtype(v, TE, "t_edge_ids", IP, "indptr");
    v.expect_shape(TE, "t_edge_ids", {{E, "E from indices"}});
    (void)V;
    if (IP.device_type == KN_DEVICE_CPU) {  // no params: a CPU call always checks the graph
      const int threads = scan_threads(ex);
      scan_indptr(v, IP, "indptr", E, "indices' length", threads);
      scan_range(v, IX, "indices", U, threads);
    }
    v.run(
        ex, [&](const kn::CpuContext& ctx) { kn::cpu::csr_transpose(IP, IX, TP, TI, TE, ctx); },
        [&](const auto& ctx) { kn::cuda::csr_transpose(IP, IX, TP, TI, TE, ctx); });
  });
}

kn_status kn_gspmm_forward(const kn_gspmm_params* p, const kn_tensor* indptr,
                           const kn_tensor* indices, const kn_tensor* edge_values,
                           const kn_tensor* x, const kn_tensor* y, const kn_tensor* arg,
                           const kn_exec* ex) {
  return kn::capi::guard("kn_gspmm_forward", [&] {
    OpValidator v("kn_gspmm_forward");
    const kn_gspmm_params& P = check_params(v, p);
    const kn_tensor& IP = v.input(indptr, "indptr", 1, Kind::Index);
    const kn_tensor& IX = v.input(indices, "indices", 1, Kind::Index);
    same_index_dtype(v, IX, "indices", IP, "indptr");
    const int64_t V = rows_of_indptr(v, IP, "indptr", "num_dst");
    const int64_t E = IX.shape[0];
    const kn_tensor* EV = v.optional_input(edge_values, "edge_values", 1);
    if (P.message == KN_GSPMM_U_MUL_E)
      v.require(EV != nullptr, KN_ERR_INVALID_ARGUMENT,
                "edge_values: must not be NULL for p->message = KN_GSPMM_U_MUL_E");
    else
      v.require(EV == nullptr, KN_ERR_INVALID_ARGUMENT,
                "edge_values: must be NULL for p->message = KN_GSPMM_COPY_U, got a tensor");
    if (EV) v.expect_shape(*EV, "edge_values", {{E, "E from indices"}});
    const kn_tensor& X = v.input(x, "x", 2);
    const int64_t U = X.shape[0], F = X.shape[1];
    const kn_tensor& Y = v.output(y, "y", 2);
    v.expect_shape(Y, "y", {{V, "num_dst from indptr"}, {F, "F from x"}});
    const kn_tensor* A = v.optional_output(arg, "arg", 2, Kind::Index);
    check_arg(v, P, A, V, F, E, "F from x");
    if (scans(p, IP)) {
      const int threads = scan_threads(ex);
      scan_indptr(v, IP, "indptr", E, "indices' length", threads);
      scan_range(v, IX, "indices", U, threads);
    }
    v.run(
        ex,
        [&](const kn::CpuContext& ctx) { kn::cpu::gspmm_forward(P, IP, IX, EV, X, Y, A, ctx); },
        [&](const auto& ctx) { kn::cuda::gspmm_forward(P, IP, IX, EV, X, Y, A, ctx); });
  });
}

kn_status kn_gspmm_backward(const kn_gspmm_params* p, const kn_tensor* dy,
                            const kn_tensor* indptr, const kn_tensor* indices,
                            const kn_tensor* t_indptr, const kn_tensor* t_indices,
                            const kn_tensor* t_edge_ids, const kn_tensor* edge_values,
                            const kn_tensor* x, const kn_tensor* arg, const kn_tensor* dx,
                            const kn_tensor* dedge, const kn_exec* ex) {
  return kn::capi::guard("kn_gspmm_backward", [&] {
    OpValidator v("kn_gspmm_backward");
    const kn_gspmm_params& P = check_params(v, p);
    const bool mul_e = P.message == KN_GSPMM_U_MUL_E;
    const kn_tensor& DY = v.input(dy, "dy", 2);
    const int64_t F = DY.shape[1];
    const kn_tensor& IP = v.input(indptr, "indptr", 1, Kind::Index);
    const kn_tensor& IX = v.input(indices, "indices", 1, Kind::Index);
    same_index_dtype(v, IX, "indices", IP, "indptr");
    const int64_t V = rows_of_indptr(v, IP, "indptr", "num_dst");
    const int64_t E = IX.shape[0];
    v.expect_shape(DY, "dy", {{V, "num_dst from indptr"}, {F}});
    // The transposed graph: needed (and then required) only for dx.
    const kn_tensor* TP = v.optional_input(t_indptr, "t_indptr", 1, Kind::Index);
    const kn_tensor* TI = v.optional_input(t_indices, "t_indices", 1, Kind::Index);
    const kn_tensor* TE = v.optional_input(t_edge_ids, "t_edge_ids", 1, Kind::Index);
    const kn_tensor* EV = v.optional_input(edge_values, "edge_values", 1);
    const kn_tensor* X = v.optional_input(x, "x", 2);
    const kn_tensor* A = v.optional_input(arg, "arg", 2, Kind::Index);
    const kn_tensor* DX = v.optional_output(dx, "dx", 2);
    const kn_tensor* DE = v.optional_output(dedge, "dedge", 1);

    // num_src: from dx, else x, else t_indptr (all that are given agree).
    int64_t U = -1;
    const char* u_from = nullptr;
    if (DX) U = DX->shape[0], u_from = "num_src from dx";
    else if (X) U = X->shape[0], u_from = "num_src from x";
    else if (TP && TP->shape[0] >= 1) U = TP->shape[0] - 1, u_from = "num_src from t_indptr";
    if (DX) {
      v.expect_shape(*DX, "dx", {{U, u_from}, {F, "F from dy"}});
      const char* need = "must not be NULL when dx is requested";
      v.require(TP != nullptr, KN_ERR_INVALID_ARGUMENT, "t_indptr: ", need);
      v.require(TI != nullptr, KN_ERR_INVALID_ARGUMENT, "t_indices: ", need);
      v.require(TE != nullptr, KN_ERR_INVALID_ARGUMENT, "t_edge_ids: ", need);
    }
    // U comes from a tensor's size and may be INT64_MAX (a broadcast x): then
    // no t_indptr can have U + 1 entries.
    v.require(!TP || U < INT64_MAX, KN_ERR_SHAPE_MISMATCH, "t_indptr: num_src + 1 overflows int64 (",
              u_from ? u_from : "num_src", " = ", U, ")");
    if (TP) {
      same_index_dtype(v, *TP, "t_indptr", IP, "indptr");
      rows_of_indptr(v, *TP, "t_indptr", "num_src");
      v.expect_shape(*TP, "t_indptr", {{U + 1, "num_src + 1"}});
    }
    if (TI) {
      same_index_dtype(v, *TI, "t_indices", IP, "indptr");
      v.expect_shape(*TI, "t_indices", {{E, "E from indices"}});
    }
    if (TE) {
      same_index_dtype(v, *TE, "t_edge_ids", IP, "indptr");
      v.expect_shape(*TE, "t_edge_ids", {{E, "E from indices"}});
    }
    if (!mul_e) {
      v.require(EV == nullptr, KN_ERR_INVALID_ARGUMENT,
                "edge_values: must be NULL for p->message = KN_GSPMM_COPY_U, got a tensor");
      v.require(DE == nullptr, KN_ERR_INVALID_ARGUMENT,
                "dedge: must be NULL for p->message = KN_GSPMM_COPY_U (there are no edge values)");
    } else if (DX) {
      v.require(EV != nullptr, KN_ERR_INVALID_ARGUMENT,
                "edge_values: must not be NULL for p->message = KN_GSPMM_U_MUL_E when dx is requested");
    }
    if (EV) v.expect_shape(*EV, "edge_values", {{E, "E from indices"}});
    if (DE) {
      v.require(X != nullptr, KN_ERR_INVALID_ARGUMENT, "x: must not be NULL when dedge is requested");
      v.expect_shape(*DE, "dedge", {{E, "E from indices"}});
    }
    if (X) v.expect_shape(*X, "x", {{U, u_from}, {F, "F from dy"}});
    check_arg(v, P, A, V, F, E, "F from dy");
    if (scans(p, IP)) {
      const int threads = scan_threads(ex);
      scan_indptr(v, IP, "indptr", E, "indices' length", threads);
      if (DE) scan_range(v, IX, "indices", U, threads);
      if (DX) {
        scan_indptr(v, *TP, "t_indptr", E, "indices' length", threads);
        scan_range(v, *TI, "t_indices", V, threads);
        scan_range(v, *TE, "t_edge_ids", E, threads);
      }
    }
    v.run(
        ex,
        [&](const kn::CpuContext& ctx) {
          kn::cpu::gspmm_backward(P, DY, IP, IX, TP, TI, TE, EV, X, A, DX, DE, ctx);
        },
        [&](const auto& ctx) {
          kn::cuda::gspmm_backward(P, DY, IP, IX, TP, TI, TE, EV, X, A, DX, DE, ctx);
        });
  });
}

}  // extern "C"
