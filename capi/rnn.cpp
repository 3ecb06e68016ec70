// C entry points of the recurrent layers (kernels/rnn.h): check the params
// and every tensor against the shapes they imply, build the RnnLayout the
// kernels share (kernels/ops/rnn.hpp), then run the CPU or CUDA kernel.
#include <climits>

#include "capi/boundary.hpp"
#include "capi/validate.hpp"
#include "kernels/ops/rnn.hpp"

namespace {

using kn::RnnLayout;
using kn::capi::Dim;
using kn::capi::OpValidator;

const char* mode_name(int32_t mode) {
  switch (mode) {
    case KN_RNN_TANH: return "KN_RNN_TANH";
    case KN_RNN_RELU: return "KN_RNN_RELU";
    case KN_LSTM: return "KN_LSTM";
    case KN_GRU: return "KN_GRU";
  }
  return "?";
}

// The scalar fields of p (not batch_sizes, which needs x).
void check_params(OpValidator& v, const kn_rnn_params* p) {
  v.require(p != nullptr, KN_ERR_INVALID_ARGUMENT, "p: must not be NULL");
  v.expect_range(p->mode, "p->mode", KN_RNN_TANH, KN_GRU);
  v.expect_range(p->reverse, "p->reverse", 0, 1);
  // H <= INT32_MAX keeps every product of it with the gate count and the
  // reserve's columns far inside int64.
  v.expect_range(p->hidden_size, "p->hidden_size", 1, INT32_MAX);
  if (p->mode == KN_LSTM)
    v.require(p->proj_size >= 0 && p->proj_size < p->hidden_size, KN_ERR_INVALID_ARGUMENT,
              "p->proj_size: must be in [0, hidden_size) = [0, ", p->hidden_size, "), got ",
              p->proj_size);
  else
    v.require(p->proj_size == 0, KN_ERR_INVALID_ARGUMENT,
              "p->proj_size: only KN_LSTM has a projection, must be 0 for ", mode_name(p->mode),
              ", got ", p->proj_size);
}

// The layout of a call whose sequence input (x, or dy for the backward
// without x) has `shape`: padded (T, N, F) or packed (total, F).
RnnLayout make_layout(OpValidator& v, const kn_rnn_params* p, const kn_tensor& seq,
                      const char* seq_name) {
  RnnLayout L;
  L.mode = p->mode;
  L.reverse = p->reverse != 0;
  L.H = p->hidden_size;
  L.P = p->proj_size;
  L.Hout = L.P > 0 ? L.P : L.H;
  L.G = kn::rnn_gates(L.mode);
  L.packed = p->batch_sizes != nullptr;
  L.res = kn::rnn_reserve_columns(L.mode, L.H, L.P);
  if (L.packed) {
    v.require(seq.ndim == 2, KN_ERR_SHAPE_MISMATCH, seq_name,
              ": a packed sequence (p->batch_sizes given) is (total, features), got ndim ",
              seq.ndim);
    const int64_t total = seq.shape[0];
    // Each step has >= 1 row, so a valid T is at most total: checked before
    // batch_sizes is read, so that a wrong num_steps cannot walk off a short array.
    v.require(p->num_steps >= 1 && p->num_steps <= total, KN_ERR_INVALID_ARGUMENT,
              "p->num_steps: must be in [1, total rows of ", seq_name, " = ", total, "], got ",
              p->num_steps);
    L.T = p->num_steps;
    L.batch.resize(L.T);
    L.offset.resize(L.T + 1);
    int64_t sum = 0;
    for (int64_t t = 0; t < L.T; ++t) {
      const int64_t b = p->batch_sizes[t];
      v.require(b >= 1 && b <= total - sum, KN_ERR_INVALID_ARGUMENT, "p->batch_sizes[", t,
                "] = ", b, ": must be >= 1 and the sizes must sum to the ", total, " rows of ",
                seq_name);
      v.require(t == 0 || b <= L.batch[t - 1], KN_ERR_INVALID_ARGUMENT, "p->batch_sizes[", t,
                "] = ", b, " > p->batch_sizes[", t - 1, "] = ", L.batch[t - 1],
                ": batch sizes must not increase (sort the sequences by length, longest first, "
                "as pack_padded_sequence(enforce_sorted=True) does)");
      L.offset[t] = sum;
      L.batch[t] = b;
      sum += b;
    }
    v.require(sum == total, KN_ERR_INVALID_ARGUMENT, "p->batch_sizes: sum to ", sum,
              ", but ", seq_name, " has ", total, " rows");
    L.offset[L.T] = sum;
    L.N = L.batch[0];
    L.rows = total;
  } else {
    v.require(seq.ndim == 3, KN_ERR_SHAPE_MISMATCH, seq_name,
              ": a padded sequence is (T, N, features), got ndim ", seq.ndim,
              " (a packed one needs p->batch_sizes)");
    L.T = seq.shape[0];
    L.N = seq.shape[1];
    // The validator bounds T N I, not T N: x is empty when I = 0.
    v.require(!__builtin_mul_overflow(L.T, L.N, &L.rows), KN_ERR_INVALID_ARGUMENT, seq_name,
              ": T x N = ", L.T, " x ", L.N, " overflows int64");
    // The per-step arrays come in run_steps(), after every shape check: x
    // alone may be empty with a huge T (I = 0 or N = 0).
  }
  return L;
}

// After the shape checks: a padded call's per-step arrays, now that y and
// the reserve (rows x cols elements) have shown real memory for its rows.
// Without any (step, sequence) pair (T = 0 or N = 0) no step has work: the
// kernels get T = 0 (the state, if any, passes through).
void run_steps(RnnLayout& L) {
  if (L.packed) return;
  if (L.rows == 0) L.T = 0;
  L.batch.assign(L.T, L.N);
  L.offset.resize(L.T + 1);
  for (int64_t t = 0; t <= L.T; ++t) L.offset[t] = t * L.N;
}

// The reserve: (rows, cols) with contiguous rows.
void check_reserve(OpValidator& v, const kn_tensor& R, const RnnLayout& L) {
  v.expect_shape(R, "reserve", {{L.rows, "rows = (step, sequence) pairs"},
                                {L.res.cols, "cols = kn_rnn_reserve_cols(p)"}});
  v.require(L.rows == 0 || (R.strides[1] == 1 && R.strides[0] == L.res.cols),
            KN_ERR_INVALID_ARGUMENT, "reserve: must be contiguous (strides (", L.res.cols,
            ", 1)), got strides (", R.strides[0], ", ", R.strides[1], ")");
}

// The shape of a sequence tensor with `features` columns.
void expect_sequence(OpValidator& v, const kn_tensor& t, const char* name, const RnnLayout& L,
                     int64_t features, const char* what) {
  if (L.packed)
    v.expect_shape(t, name, {{L.rows, "total rows from p->batch_sizes"}, {features, what}});
  else
    v.expect_shape(t, name, {{L.T, "T from x"}, {L.N, "N from x"}, {features, what}});
}

}  // namespace

extern "C" {

kn_status kn_rnn_reserve_cols(const kn_rnn_params* p, int64_t* cols) {
  return kn::capi::guard("kn_rnn_reserve_cols", [&] {
    OpValidator v("kn_rnn_reserve_cols");
    check_params(v, p);
    v.require(cols != nullptr, KN_ERR_INVALID_ARGUMENT, "cols: must not be NULL");
    *cols = kn::rnn_reserve_columns(p->mode, p->hidden_size, p->proj_size).cols;
  });
}

kn_status kn_rnn_backward_workspace_size(const kn_rnn_params* p, int64_t rows, int64_t N,
                                         int32_t dtype, size_t* bytes) {
  return kn::capi::guard("kn_rnn_backward_workspace_size", [&] {
    OpValidator v("kn_rnn_backward_workspace_size");
    check_params(v, p);
    v.require(bytes != nullptr, KN_ERR_INVALID_ARGUMENT, "bytes: must not be NULL");
    v.require(dtype == KN_FLOAT32 || dtype == KN_FLOAT64, KN_ERR_UNSUPPORTED,
              "dtype: expected KN_FLOAT32 or KN_FLOAT64, got ", dtype);
    v.require(rows >= 0 && N >= 0, KN_ERR_INVALID_ARGUMENT, "rows, N: must be >= 0, got ", rows,
              ", ", N);
    // Every mode needs at most 6 H per row and 3 H per sequence: bound the bytes in 128 bits.
    const __int128 bound = (__int128(rows) + N) * 6 * p->hidden_size * 8;
    v.require(bound <= INT64_MAX, KN_ERR_INVALID_ARGUMENT, "rows = ", rows, ", N = ", N,
              ": the workspace would exceed INT64_MAX bytes");
    const kn::RnnWorkspace w =
        kn::rnn_workspace(p->mode, p->hidden_size, p->proj_size, rows, N);
    *bytes = static_cast<size_t>(w.elements) * (dtype == KN_FLOAT32 ? 4 : 8);
  });
}

kn_status kn_rnn_forward(const kn_rnn_params* p, const kn_tensor* x, const kn_tensor* h0,
                         const kn_tensor* c0, const kn_tensor* w_ih, const kn_tensor* w_hh,
                         const kn_tensor* b_ih, const kn_tensor* b_hh, const kn_tensor* w_hr,
                         const kn_tensor* y, const kn_tensor* h_n, const kn_tensor* c_n,
                         const kn_tensor* reserve, const kn_exec* ex) {
  return kn::capi::guard("kn_rnn_forward", [&] {
    OpValidator v("kn_rnn_forward");
    check_params(v, p);
    const kn_tensor& X = v.input(x, "x");
    RnnLayout L = make_layout(v, p, X, "x");
    const bool lstm = L.mode == KN_LSTM;
    const int64_t I = X.shape[X.ndim - 1];
    v.require(lstm || (!c0 && !c_n), KN_ERR_INVALID_ARGUMENT,
              "c0, c_n: only KN_LSTM has a cell state, must be NULL for ", mode_name(L.mode));
    v.require((L.P > 0) == (w_hr != nullptr), KN_ERR_INVALID_ARGUMENT,
              "w_hr: must be given exactly when p->proj_size > 0 (proj_size = ", L.P, ")");
    const kn_tensor* H0 = v.optional_input(h0, "h0", 2);
    if (H0) v.expect_shape(*H0, "h0", {{L.N, "N from x"}, {L.Hout, "hidden (or proj) size"}});
    const kn_tensor* C0 = v.optional_input(c0, "c0", 2);
    if (C0) v.expect_shape(*C0, "c0", {{L.N, "N from x"}, {L.H, "hidden_size"}});
    const kn_tensor& Wih = v.input(w_ih, "w_ih", 2);
    v.expect_shape(Wih, "w_ih", {{L.GH(), "gates x hidden_size"}, {I, "input size from x"}});
    const kn_tensor& Whh = v.input(w_hh, "w_hh", 2);
    v.expect_shape(Whh, "w_hh", {{L.GH(), "gates x hidden_size"}, {L.Hout, "hidden (or proj) size"}});
    const kn_tensor* Bih = v.optional_input(b_ih, "b_ih", 1);
    if (Bih) v.expect_shape(*Bih, "b_ih", {{L.GH(), "gates x hidden_size"}});
    const kn_tensor* Bhh = v.optional_input(b_hh, "b_hh", 1);
    if (Bhh) v.expect_shape(*Bhh, "b_hh", {{L.GH(), "gates x hidden_size"}});
    const kn_tensor* Whr = v.optional_input(w_hr, "w_hr", 2);
    if (Whr) v.expect_shape(*Whr, "w_hr", {{L.P, "proj_size"}, {L.H, "hidden_size"}});
    const kn_tensor& Y = v.output(y, "y");
    expect_sequence(v, Y, "y", L, L.Hout, "hidden (or proj) size");
    const kn_tensor* Hn = v.optional_output(h_n, "h_n", 2);
    if (Hn) v.expect_shape(*Hn, "h_n", {{L.N, "N from x"}, {L.Hout, "hidden (or proj) size"}});
    const kn_tensor* Cn = v.optional_output(c_n, "c_n", 2);
    if (Cn) v.expect_shape(*Cn, "c_n", {{L.N, "N from x"}, {L.H, "hidden_size"}});
    const kn_tensor& R = v.output(reserve, "reserve", 2);
    check_reserve(v, R, L);
    run_steps(L);
    v.run(
        ex,
        [&](const kn::CpuContext& ctx) {
          kn::cpu::rnn_forward(L, X, H0, C0, Wih, Whh, Bih, Bhh, Whr, Y, Hn, Cn, R, ctx);
        },
        [&](const auto& ctx) {
          kn::cuda::rnn_forward(L, X, H0, C0, Wih, Whh, Bih, Bhh, Whr, Y, Hn, Cn, R, ctx);
        });
  });
}

kn_status kn_rnn_backward(const kn_rnn_params* p, const kn_tensor* x, const kn_tensor* w_ih,
                          const kn_tensor* w_hh, const kn_tensor* w_hr, const kn_tensor* reserve,
                          const kn_tensor* dy, const kn_tensor* dh_n, const kn_tensor* dc_n,
                          const kn_tensor* dx, const kn_tensor* dh0, const kn_tensor* dc0,
                          const kn_tensor* dw_ih, const kn_tensor* dw_hh, const kn_tensor* db_ih,
                          const kn_tensor* db_hh, const kn_tensor* dw_hr, const kn_exec* ex) {
  return kn::capi::guard("kn_rnn_backward", [&] {
    OpValidator v("kn_rnn_backward");
    check_params(v, p);
    v.require(x || !dw_ih, KN_ERR_INVALID_ARGUMENT, "x: must not be NULL when dw_ih is requested");
    v.require(w_ih || !dx, KN_ERR_INVALID_ARGUMENT, "w_ih: must not be NULL when dx is requested");
    v.require(x || dy, KN_ERR_INVALID_ARGUMENT,
              "x, dy: at least one must be given (they carry the sequence's shape)");
    const kn_tensor& Whh = v.input(w_hh, "w_hh", 2);
    const kn_tensor* X = v.optional_input(x, "x");
    const kn_tensor* DY = v.optional_input(dy, "dy");
    const kn_tensor* W_ih = v.optional_input(w_ih, "w_ih", 2);
    RnnLayout L = make_layout(v, p, X ? *X : *DY, X ? "x" : "dy");
    const bool lstm = L.mode == KN_LSTM;
    v.require(lstm || (!dc_n && !dc0), KN_ERR_INVALID_ARGUMENT,
              "dc_n, dc0: only KN_LSTM has a cell state, must be NULL for ", mode_name(L.mode));
    v.require((L.P > 0) == (w_hr != nullptr), KN_ERR_INVALID_ARGUMENT,
              "w_hr: must be given exactly when p->proj_size > 0 (proj_size = ", L.P, ")");
    v.require(L.P > 0 || !dw_hr, KN_ERR_INVALID_ARGUMENT,
              "dw_hr: must be NULL without a projection (proj_size = 0)");
    v.expect_shape(Whh, "w_hh", {{L.GH(), "gates x hidden_size"}, {L.Hout, "hidden (or proj) size"}});
    int64_t I = -1;
    if (X) I = X->shape[X->ndim - 1];
    if (W_ih) {
      v.expect_shape(*W_ih, "w_ih", {{L.GH(), "gates x hidden_size"}, {I, "input size from x"}});
      I = W_ih->shape[1];
    }
    const kn_tensor* Whr = v.optional_input(w_hr, "w_hr", 2);
    if (Whr) v.expect_shape(*Whr, "w_hr", {{L.P, "proj_size"}, {L.H, "hidden_size"}});
    const kn_tensor& R = v.input(reserve, "reserve", 2);
    check_reserve(v, R, L);
    if (X) expect_sequence(v, *X, "x", L, I, "input size");
    if (DY) expect_sequence(v, *DY, "dy", L, L.Hout, "hidden (or proj) size");
    const kn_tensor* DHn = v.optional_input(dh_n, "dh_n", 2);
    if (DHn) v.expect_shape(*DHn, "dh_n", {{L.N, "N"}, {L.Hout, "hidden (or proj) size"}});
    const kn_tensor* DCn = v.optional_input(dc_n, "dc_n", 2);
    if (DCn) v.expect_shape(*DCn, "dc_n", {{L.N, "N"}, {L.H, "hidden_size"}});
    const kn_tensor* DX = v.optional_output(dx, "dx");
    if (DX) expect_sequence(v, *DX, "dx", L, I, "input size");
    const kn_tensor* DH0 = v.optional_output(dh0, "dh0", 2);
    if (DH0) v.expect_shape(*DH0, "dh0", {{L.N, "N"}, {L.Hout, "hidden (or proj) size"}});
    const kn_tensor* DC0 = v.optional_output(dc0, "dc0", 2);
    if (DC0) v.expect_shape(*DC0, "dc0", {{L.N, "N"}, {L.H, "hidden_size"}});
    const kn_tensor* DWih = v.optional_output(dw_ih, "dw_ih", 2);
    if (DWih) v.expect_shape(*DWih, "dw_ih", {{L.GH(), "gates x hidden_size"}, {I, "input size"}});
    const kn_tensor* DWhh = v.optional_output(dw_hh, "dw_hh", 2);
    if (DWhh) v.expect_shape(*DWhh, "dw_hh", {{L.GH(), "gates x hidden_size"}, {L.Hout, "hidden (or proj) size"}});
    const kn_tensor* DBih = v.optional_output(db_ih, "db_ih", 1);
    if (DBih) v.expect_shape(*DBih, "db_ih", {{L.GH(), "gates x hidden_size"}});
    const kn_tensor* DBhh = v.optional_output(db_hh, "db_hh", 1);
    if (DBhh) v.expect_shape(*DBhh, "db_hh", {{L.GH(), "gates x hidden_size"}});
    const kn_tensor* DWhr = v.optional_output(dw_hr, "dw_hr", 2);
    if (DWhr) v.expect_shape(*DWhr, "dw_hr", {{L.P, "proj_size"}, {L.H, "hidden_size"}});
    run_steps(L);
    v.run(
        ex,
        [&](const kn::CpuContext& ctx) {
          kn::cpu::rnn_backward(L, X, W_ih, Whh, Whr, R, DY, DHn, DCn, DX, DH0, DC0, DWih, DWhh,
                                DBih, DBhh, DWhr, ctx);
        },
        [&](const auto& ctx) {
          kn::cuda::rnn_backward(L, X, W_ih, Whh, Whr, R, DY, DHn, DCn, DX, DH0, DC0, DWih, DWhh,
                                 DBih, DBhh, DWhr, ctx);
        });
  });
}

}  // extern "C"
