// The fuzz entries of kn_rnn_forward / kn_rnn_backward (kernels/rnn.h;
// make fuzz ENTRY=kn_rnn_forward).
//
// kn_rnn_params lives in the Call's generic fields:
//   i0 mode, i1 reverse, g[0] hidden_size, g[1] proj_size, g[2] num_steps,
//   g[3] packed (1: batch_sizes = v[0].data(), 0: NULL), v[0] the batch sizes.
// The batch_sizes array is host memory the caller owns (the header): it is
// always v[0], and v[0] always holds at least max(num_steps, 1) entries,
// whatever a mutation does to num_steps or to the entries. So a finding can
// only be a library bug, never the harness reading past its own array.
//
// Valid calls: every mode, both directions, padded (T, N, I) with T and N
// possibly 0, or packed with non-increasing batch sizes; optional h0, c0,
// biases, h_n, c_n, and in the backward dy, dh_n, dc_n and each gradient;
// x NULL (no dw_ih) with dy carrying the shape, w_ih NULL (no dx). The
// reserve is contiguous (its contract) and, for the backward, holds random
// values (backward must not care: any values give some finite or non-finite
// result, never a crash or a write outside the outputs).
// Parameter mutations: p NULL, mode / reverse / hidden_size / proj_size out
// of range or another legal value, num_steps and batch sizes broken (zero,
// negative, increasing, not summing to the rows) or batch_sizes toggled.
// finish() classifies from the header: out-of-range params, state or
// projection tensors that the mode does not have, requested gradients
// without the input they need, the sequence tensors' ndim (3 padded, 2
// packed), the batch sizes against x's rows, and a reserve whose rows are
// not contiguous must fail; a legal change whose effect on the shapes the
// harness does not model is "either"; flipping the direction, and any
// num_steps of a padded call, keep a valid call valid.
#include <algorithm>
#include <climits>
#include <cstring>
#include <numeric>
#include <string>

#include "harness.hpp"
#include "kernels/rnn.h"

namespace {

using fz::Call;
using fz::Kind;
using fz::Role;
using fz::Slot;
using fz::Source;

constexpr Slot in(const char* n, int nd = -1) { return {n, Role::In, Kind::Float, nd, false}; }
constexpr Slot in_opt(const char* n, int nd = -1) { return {n, Role::In, Kind::Float, nd, true}; }
constexpr Slot out(const char* n, int nd = -1) { return {n, Role::Out, Kind::Float, nd, false}; }
constexpr Slot out_opt(const char* n, int nd = -1) { return {n, Role::Out, Kind::Float, nd, true}; }

// Slots, in signature order.
enum Fwd { X, H0, C0, WIH, WHH, BIH, BHH, WHR, Y, HN, CN, RES };
enum Bwd { BX, BWIH, BWHH, BWHR, BRES, BDY, BDHN, BDCN, BDX, BDH0, BDC0, BDWIH, BDWHH, BDBIH, BDBHH, BDWHR };

int64_t gates(int32_t mode) { return mode == KN_LSTM ? 4 : mode == KN_GRU ? 3 : 1; }
bool packed(const Call& c) { return c.g[3] != 0; }

kn_rnn_params params(Call& c) {
  kn_rnn_params p;
  std::memset(&p, 0, sizeof p);
  p.mode = c.i0, p.reverse = c.i1, p.hidden_size = c.g[0], p.proj_size = c.g[1];
  p.batch_sizes = packed(c) ? c.v[0].data() : nullptr;
  p.num_steps = c.g[2];
  return p;
}

// v[0] holds at least max(num_steps, 1) entries (new ones: 1) when packed
// (a padded call's num_steps is any value: batch_sizes is NULL).
void keep_array(Call& c) {
  const int64_t need = packed(c) ? std::max<int64_t>(1, c.g[2]) : 1;
  if (static_cast<int64_t>(c.v[0].size()) < need) c.v[0].resize(static_cast<size_t>(need), 1);
}

struct Dims {
  int64_t T, N, I, H, P, Hout, GH, rows;
  std::vector<int64_t> seq(int64_t f, bool pk) const {
    return pk ? std::vector<int64_t>{rows, f} : std::vector<int64_t>{T, N, f};
  }
};

// Valid params and sizes.
Dims gen_params(Call& c) {
  Source& s = *c.src;
  const bool big = s.coin(1, 12);  // the gate kernels split rows past 8192 gate elements
  Dims d{};
  c.i0 = static_cast<int32_t>(s.below(4));
  c.i1 = s.coin(1, 2) ? 1 : 0;
  d.H = fz::small_size(c, 1, big ? 48 : 12);
  d.P = c.i0 == KN_LSTM && d.H > 1 && s.coin(1, 3) ? s.range(1, d.H - 1) : 0;
  d.I = fz::small_size(c, 0, big ? 40 : 9);
  c.g[0] = d.H, c.g[1] = d.P;
  c.g[3] = s.coin(1, 2);
  c.v[0].clear();
  if (packed(c)) {
    d.T = fz::small_size(c, 1, big ? 6 : 7);
    d.N = fz::small_size(c, 1, big ? 70 : 6);
    int64_t b = d.N;
    for (int64_t t = 0; t < d.T; ++t) {
      if (t > 0 && s.coin(1, 2)) b = s.range(1, b);
      c.v[0].push_back(b);
    }
    d.rows = std::accumulate(c.v[0].begin(), c.v[0].end(), int64_t(0));
    c.g[2] = d.T;
  } else {
    d.T = fz::small_size(c, 0, big ? 6 : 7);
    d.N = fz::small_size(c, 0, big ? 70 : 6);
    d.rows = d.T * d.N;
    static const int64_t any[] = {0, -1, 3, INT64_MIN, INT64_MAX};  // unused by a padded call
    c.g[2] = s.pick(any);
  }
  keep_array(c);
  d.Hout = d.P > 0 ? d.P : d.H;
  d.GH = gates(c.i0) * d.H;
  return d;
}

// The reserve: (rows, kn_rnn_reserve_cols(p)), contiguous rows.
void make_reserve(Call& c, int slot, const Dims& d, int32_t dt) {
  kn_rnn_params p = params(c);
  int64_t cols = 0;
  if (kn_rnn_reserve_cols(&p, &cols) != KN_OK) cols = 1;  // never: gen_params made valid params
  fz::make(c, slot, {d.rows, cols}, dt);
  kn_tensor& t = c.a[static_cast<size_t>(slot)].t;
  t.strides[0] = cols, t.strides[1] = 1;
}

void gen_forward(Call& c) {
  const Dims d = gen_params(c);
  Source& s = *c.src;
  const int32_t dt = fz::float_dtype(c);
  const bool lstm = c.i0 == KN_LSTM, pk = packed(c);
  fz::make(c, X, d.seq(d.I, pk), dt);
  if (s.coin(2, 3)) fz::make(c, H0, {d.N, d.Hout}, dt);
  if (lstm && s.coin(2, 3)) fz::make(c, C0, {d.N, d.H}, dt);
  fz::make(c, WIH, {d.GH, d.I}, dt);
  fz::make(c, WHH, {d.GH, d.Hout}, dt);
  if (s.coin(2, 3)) fz::make(c, BIH, {d.GH}, dt);
  if (s.coin(2, 3)) fz::make(c, BHH, {d.GH}, dt);
  if (d.P > 0) fz::make(c, WHR, {d.P, d.H}, dt);
  fz::make(c, Y, d.seq(d.Hout, pk), dt);
  if (s.coin(2, 3)) fz::make(c, HN, {d.N, d.Hout}, dt);
  if (lstm && s.coin(2, 3)) fz::make(c, CN, {d.N, d.H}, dt);
  make_reserve(c, RES, d, dt);
  c.g[4] = 0;  // forward
}

void gen_backward(Call& c) {
  const Dims d = gen_params(c);
  Source& s = *c.src;
  const int32_t dt = fz::float_dtype(c);
  const bool lstm = c.i0 == KN_LSTM, pk = packed(c), proj = d.P > 0;
  const bool dx = s.coin(2, 3), dw_ih = s.coin(2, 3), dy = s.coin(3, 4);
  const bool x = dw_ih || !dy || s.coin(1, 2), w_ih = dx || s.coin(1, 2);
  if (x) fz::make(c, BX, d.seq(d.I, pk), dt);
  if (w_ih) fz::make(c, BWIH, {d.GH, d.I}, dt);
  fz::make(c, BWHH, {d.GH, d.Hout}, dt);
  if (proj) fz::make(c, BWHR, {d.P, d.H}, dt);
  make_reserve(c, BRES, d, dt);
  if (dy) fz::make(c, BDY, d.seq(d.Hout, pk), dt);
  if (s.coin(2, 3)) fz::make(c, BDHN, {d.N, d.Hout}, dt);
  if (lstm && s.coin(2, 3)) fz::make(c, BDCN, {d.N, d.H}, dt);
  if (dx) fz::make(c, BDX, d.seq(d.I, pk), dt);
  if (s.coin(2, 3)) fz::make(c, BDH0, {d.N, d.Hout}, dt);
  if (lstm && s.coin(2, 3)) fz::make(c, BDC0, {d.N, d.H}, dt);
  if (dw_ih) fz::make(c, BDWIH, {d.GH, d.I}, dt);
  if (s.coin(2, 3)) fz::make(c, BDWHH, {d.GH, d.Hout}, dt);
  if (s.coin(2, 3)) fz::make(c, BDBIH, {d.GH}, dt);
  if (s.coin(2, 3)) fz::make(c, BDBHH, {d.GH}, dt);
  if (proj && s.coin(2, 3)) fz::make(c, BDWHR, {d.P, d.H}, dt);
  c.g[4] = 1;  // backward
}

kn_status inv_forward(Call& c) {
  const kn_rnn_params p = params(c);
  return kn_rnn_forward(c.p(p), c.t(X), c.t(H0), c.t(C0), c.t(WIH), c.t(WHH), c.t(BIH), c.t(BHH), c.t(WHR),
                        c.t(Y), c.t(HN), c.t(CN), c.t(RES), c.exec());
}
kn_status inv_backward(Call& c) {
  const kn_rnn_params p = params(c);
  return kn_rnn_backward(c.p(p), c.t(BX), c.t(BWIH), c.t(BWHH), c.t(BWHR), c.t(BRES), c.t(BDY), c.t(BDHN),
                         c.t(BDCN), c.t(BDX), c.t(BDH0), c.t(BDC0), c.t(BDWIH), c.t(BDWHH), c.t(BDBIH),
                         c.t(BDBHH), c.t(BDWHR), c.exec());
}

void mutate_params(Call& c) {
  Source& s = *c.src;
  // A sane H for new values (an earlier mutation may have left INT64_MIN/MAX).
  const int64_t H = std::clamp<int64_t>(c.g[0], 0, int64_t(1) << 20);
  bool legal_same_shapes = false;  // the call stays exactly as valid as it was
  switch (s.below(10)) {
    case 0:
      c.p_null = true;
      c.mutations.push_back("p=NULL");
      return;
    case 1: {
      static const int32_t bad[] = {-1, 4, 5, INT32_MIN, INT32_MAX};
      c.i0 = s.coin(1, 2) ? s.pick(bad) : static_cast<int32_t>((std::clamp<int32_t>(c.i0, 0, 3) + 1 + s.below(3)) % 4);
      break;
    }
    case 2: {
      static const int32_t bad[] = {2, -1, INT32_MIN, INT32_MAX};
      if (s.coin(1, 2)) {
        c.i1 = s.pick(bad);
      } else {
        c.i1 = c.i1 == 0 ? 1 : 0;  // the other direction: same shapes, still valid
        legal_same_shapes = true;
      }
      break;
    }
    case 3: {
      static const int64_t v[] = {0, -1, INT64_MIN, int64_t(INT32_MAX) + 1, INT64_MAX, INT32_MAX, 1, 2, 17};
      c.g[0] = s.coin(1, 3) ? H + 1 : s.pick(v);
      break;
    }
    case 4: {
      static const int64_t v[] = {-1, 0, 1, INT64_MIN, INT64_MAX};
      c.g[1] = s.coin(1, 2) ? s.pick(v) : H + s.range(-1, 1);
      break;
    }
    case 5:
      if (!packed(c)) {  // unused by a padded call
        static const int64_t any[] = {0, -7, 1, INT64_MAX, INT64_MIN};
        c.g[2] = s.pick(any);
        legal_same_shapes = true;
      } else {
        // From a sane old value (an earlier mutation may have left INT64_MIN).
        const int64_t old = std::clamp<int64_t>(c.g[2], 0, static_cast<int64_t>(c.v[0].size()));
        int64_t rows = 0;
        for (int64_t t = 0; t < old; ++t) rows += std::clamp<int64_t>(c.v[0][static_cast<size_t>(t)], 0, 64);
        const int64_t v[] = {0, -1, INT64_MIN, old - 1, old + 1, rows, rows + 1, rows + 3};
        c.g[2] = s.pick(v);
        keep_array(c);
      }
      break;
    case 6:
    case 7: {  // one batch size
      if (!packed(c) || c.g[2] < 1) return;
      const size_t t = static_cast<size_t>(s.below(static_cast<uint64_t>(c.g[2])));
      // (Clamped: an earlier mutation may have left INT64_MIN or INT64_MAX.)
      const int64_t b = std::clamp<int64_t>(c.v[0][t], -64, 64), b0 = std::clamp<int64_t>(c.v[0][0], -64, 64);
      const int64_t v[] = {0, -1, INT64_MIN, INT64_MAX, b + 1, b - 1, b0 + 1, 1};
      c.v[0][t] = s.pick(v);
      break;
    }
    case 8:  // padded <-> packed: the sequence tensors' ndim is then wrong
      c.g[3] = !c.g[3];
      if (packed(c)) {
        c.g[2] = s.range(1, 4);
        keep_array(c);
      }
      break;
    default: {  // two batch sizes swapped (increasing where they differ)
      if (!packed(c) || c.g[2] < 2) return;
      const size_t a = static_cast<size_t>(s.below(static_cast<uint64_t>(c.g[2]))),
                   b = static_cast<size_t>(s.below(static_cast<uint64_t>(c.g[2])));
      std::swap(c.v[0][a], c.v[0][b]);
      break;
    }
  }
  if (!legal_same_shapes) c.either("param-changed", "p");
  c.mutations.push_back("p mutated");
}

bool ndim_ok(const kn_tensor& t) { return t.ndim >= 0 && t.ndim <= KN_MAX_DIMS; }

void finish(Call& c) {
  if (c.p_null) return c.must_fail("params-null");
  const int32_t mode = c.i0;
  const int64_t H = c.g[0], P = c.g[1];
  if (mode < KN_RNN_TANH || mode > KN_GRU) return c.must_fail("param-range", "p->mode");
  if (c.i1 != 0 && c.i1 != 1) return c.must_fail("param-range", "p->reverse");
  if (H < 1 || H > INT32_MAX) return c.must_fail("param-range", "p->hidden_size");
  if (mode == KN_LSTM ? (P < 0 || P >= H) : P != 0) return c.must_fail("param-range", "p->proj_size");
  const bool lstm = mode == KN_LSTM, backward = c.g[4] != 0, pk = packed(c);
  auto has = [&](int slot) { return c.a[static_cast<size_t>(slot)].present; };
  // Tensors the mode or the request rules out.
  if (!backward) {
    if (!lstm && (has(C0) || has(CN))) c.must_fail("rnn-cell-state", "c0/c_n without LSTM");
    if (has(WHR) != (P > 0)) c.must_fail("rnn-w_hr", "w_hr given exactly when proj_size > 0");
  } else {
    if (!lstm && (has(BDCN) || has(BDC0))) c.must_fail("rnn-cell-state", "dc_n/dc0 without LSTM");
    if (has(BWHR) != (P > 0)) c.must_fail("rnn-w_hr", "w_hr given exactly when proj_size > 0");
    if (has(BDWHR) && P == 0) c.must_fail("rnn-w_hr", "dw_hr without a projection");
    if (has(BDWIH) && !has(BX)) c.must_fail("rnn-needs-x", "dw_ih without x");
    if (has(BDX) && !has(BWIH)) c.must_fail("rnn-needs-w_ih", "dx without w_ih");
    if (!has(BX) && !has(BDY)) c.must_fail("rnn-needs-x-or-dy", "x and dy NULL");
  }
  // The sequence tensors: (T, N, F) padded, (rows, F) packed.
  const int seq_slots[2][4] = {{X, Y, -1, -1}, {BX, BDY, BDX, -1}};
  for (int slot : seq_slots[backward]) {
    if (slot < 0 || !has(slot)) continue;
    const kn_tensor& t = c.a[static_cast<size_t>(slot)].t;
    if (ndim_ok(t) && t.ndim != (pk ? 2 : 3)) c.must_fail("rnn-seq-ndim", c.e->slots[static_cast<size_t>(slot)].name);
  }
  // The reserve's rows are contiguous: strides (cols, 1) where those dims
  // have more than one element (a size-1 dim's stride is never used).
  const int res = backward ? static_cast<int>(BRES) : static_cast<int>(RES);
  const kn_tensor* r = has(res) ? &c.a[static_cast<size_t>(res)].t : nullptr;
  if (r && r->ndim == 2 && r->shape[0] > 0 && r->shape[1] > 0 &&
      ((r->shape[1] > 1 && r->strides[1] != 1) || (r->shape[0] > 1 && r->strides[0] != r->shape[1])))
    c.must_fail("rnn-reserve-not-contiguous", "strides");
  // The batch sizes against the rows of the tensor that carries the sequence's shape.
  if (!pk) return;
  const int lay = !backward ? static_cast<int>(X) : has(BX) ? static_cast<int>(BX) : static_cast<int>(BDY);
  if (!has(lay)) return;
  const kn_tensor& s = c.a[static_cast<size_t>(lay)].t;
  if (s.ndim != 2 || s.shape[0] < 0) return;
  const int64_t total = s.shape[0], T = c.g[2];
  if (T < 1 || T > total) return c.must_fail("rnn-num-steps", "p->num_steps");
  int64_t sum = 0;
  for (int64_t t = 0; t < T; ++t) {
    const int64_t b = c.v[0][static_cast<size_t>(t)];
    if (b < 1 || b > total - sum || (t > 0 && b > c.v[0][static_cast<size_t>(t - 1)]))
      return c.must_fail("rnn-batch-sizes", "p->batch_sizes[" + std::to_string(t) + "]");
    sum += b;
  }
  if (sum != total) c.must_fail("rnn-batch-sizes", "sum");
}

std::string describe(const Call& c) {
  if (c.p_null) return "p=NULL";
  std::string s = "p{mode=" + std::to_string(c.i0) + " reverse=" + std::to_string(c.i1) +
                  " hidden=" + fz::fmt_i64(c.g[0]) + " proj=" + fz::fmt_i64(c.g[1]) +
                  " num_steps=" + fz::fmt_i64(c.g[2]) + " batch_sizes=";
  if (c.g[3] == 0) return s + "NULL}";
  s += "(";
  const int64_t n = std::min<int64_t>(static_cast<int64_t>(c.v[0].size()), std::max<int64_t>(c.g[2], 0));
  for (int64_t t = 0; t < n && t < 16; ++t) s += (t ? "," : "") + fz::fmt_i64(c.v[0][static_cast<size_t>(t)]);
  return s + (n > 16 ? ",...)}" : ")}");
}

[[maybe_unused]] const int kn_fuzz_registered_rnn_forward = fz::register_entry(
    {"kn_rnn_forward",
     {in("x"), in_opt("h0", 2), in_opt("c0", 2), in("w_ih", 2), in("w_hh", 2), in_opt("b_ih", 1),
      in_opt("b_hh", 1), in_opt("w_hr", 2), out("y"), out_opt("h_n", 2), out_opt("c_n", 2), out("reserve", 2)},
     gen_forward, inv_forward, mutate_params, finish, nullptr, describe, {}, 0});

[[maybe_unused]] const int kn_fuzz_registered_rnn_backward = fz::register_entry(
    {"kn_rnn_backward",
     {in_opt("x"), in_opt("w_ih", 2), in("w_hh", 2), in_opt("w_hr", 2), in("reserve", 2), in_opt("dy"),
      in_opt("dh_n", 2), in_opt("dc_n", 2), out_opt("dx"), out_opt("dh0", 2), out_opt("dc0", 2),
      out_opt("dw_ih", 2), out_opt("dw_hh", 2), out_opt("db_ih", 1), out_opt("db_hh", 1), out_opt("dw_hr", 2)},
     gen_backward, inv_backward, mutate_params, finish, nullptr, describe, {}, 0});

}  // namespace
