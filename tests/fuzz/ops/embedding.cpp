// The fuzz entries of kn_embedding_forward / _backward / _renorm (make fuzz
// ENTRY=kn_embedding_forward): valid calls of every layout the harness makes (indices of
// 0 to 7 dims, int32/int64, V and D down to 0), padding_idx / scale_grad_by_freq /
// max_norm / norm_type at valid values or (mutated) out of their rules, and planted
// out-of-range indices, which the CPU entry points must refuse with nothing written.
//
// Call fields used: g[0] = V (rows), g[1] = padding_idx, i0 = scale_grad_by_freq,
// dp[0] = max_norm, dp[1] = norm_type, p_null = the params pointer is NULL.
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "harness.hpp"
#include "kernels/embedding.h"

namespace {

using fz::Call;
using Shape = std::vector<int64_t>;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// indices: any shape of at most 7 dims (the rows operand has one more).
Shape index_shape(Call& c) {
  Shape s = fz::any_shape(c, 0, 3);
  while (s.size() > KN_MAX_DIMS - 1) s.pop_back();
  return s;
}

int64_t count(const Shape& s) {
  int64_t n = 1;
  for (int64_t v : s) n *= v;
  return n;
}

// V rows (0 only when there is no index to look up) and D features.
void gen_table(Call& c, const Shape& ishape, int64_t& V, int64_t& D) {
  V = fz::small_size(c, count(ishape) == 0 ? 0 : 1, 60);
  D = fz::small_size(c, 0, 40);
  c.g[0] = V;
}

Shape rows_shape(const Shape& ishape, int64_t D) {
  Shape s = ishape;
  s.push_back(D);
  return s;
}

void gen_forward(Call& c) {  // weight indices y
  const Shape is = index_shape(c);
  int64_t V, D;
  gen_table(c, is, V, D);
  const int32_t dt = fz::float_dtype(c);
  fz::make(c, 0, {V, D}, dt);
  fz::make(c, 1, is, fz::index_dtype(c));
  fz::make(c, 2, rows_shape(is, D), dt);
}

void gen_backward(Call& c) {  // dy indices dweight
  const Shape is = index_shape(c);
  int64_t V, D;
  gen_table(c, is, V, D);
  c.g[1] = V > 0 && c.src->coin(1, 2) ? c.src->range(0, V - 1) : -1;
  c.i0 = c.src->coin(1, 2);
  const int32_t dt = fz::float_dtype(c);
  fz::make(c, 0, rows_shape(is, D), dt);
  fz::make(c, 1, is, fz::index_dtype(c));
  fz::make(c, 2, {V, D}, dt);
}

void gen_renorm(Call& c) {  // weight indices
  const Shape is = index_shape(c);
  int64_t V, D;
  gen_table(c, is, V, D);
  static const double mn[] = {0.0, 0.5, 1.0, 2.0, 1e30};
  static const double nt[] = {1.0, 2.0, 3.5, kInf, 0.5};
  c.dp[0] = c.src->pick(mn);
  c.dp[1] = c.src->pick(nt);
  fz::make(c, 0, {V, D}, fz::float_dtype(c));
  fz::make(c, 1, is, fz::index_dtype(c));
}

// Indices in [0, V); with mutate_content one out of range (must fail on the CPU).
void fill_indices(Call& c, int slot) {
  const int64_t n = fz::fill_count(c, slot), V = c.g[0];
  if (n <= 0) return;
  uint64_t rs = c.data_seed ^ 0x51ed270b;
  for (int64_t i = 0; i < n; ++i)
    fz::set_index(c, slot, i, V > 0 ? static_cast<int64_t>((fz::splitmix(rs) >> 8) % static_cast<uint64_t>(V)) : 0);
  const fz::Arg& t = c.a[static_cast<size_t>(slot)];
  if (c.mutate_content && t.present && t.t.device_type == KN_DEVICE_CPU) {
    static const int64_t bad[] = {0, 1, -1, -2, INT32_MIN, INT32_MAX};
    int64_t v = c.src->pick(bad);
    if (v >= 0 && v < 2) v += V;
    const int64_t i = c.src->range(0, n - 1);
    fz::set_index(c, slot, i, v);
    c.mutations.push_back("indices[" + std::to_string(i) + "]=" + fz::fmt_i64(v));
    if (c.touched) c.either("bad-index-after-mutation");
    else c.must_fail("bad-index");
  }
}

void fill_forward(Call& c) { fill_indices(c, 1); }
void fill_backward(Call& c) { fill_indices(c, 1); }

// renorm's weight is read and written: the harness poisons outputs, so give it values
// (the rows renorm leaves alone must then still hold them, which the harness checks as
// "written": not the poison pattern).
void fill_renorm(Call& c) {
  fill_indices(c, 1);
  const int64_t n = fz::fill_count(c, 0);
  const kn_tensor& w = c.a[0].t;
  if (n <= 0 || (w.dtype != KN_FLOAT32 && w.dtype != KN_FLOAT64) || w.ndim < 0 || w.ndim > KN_MAX_DIMS) return;
  uint64_t rs = c.data_seed ^ 0x2545f491;
  for (int64_t i = 0; i < n; ++i) {
    int64_t off = 0, rest = i;
    for (int d = w.ndim - 1; d >= 0; --d) {
      off += (rest % w.shape[d]) * w.strides[d];
      rest /= w.shape[d];
    }
    const double v = static_cast<double>(static_cast<int64_t>(fz::splitmix(rs) % 2001) - 1000) / 250.0;
    char* p = static_cast<char*>(w.data);
    if (w.dtype == KN_FLOAT32) {
      const float f = static_cast<float>(v);
      std::memcpy(p + off * 4, &f, 4);
    } else {
      std::memcpy(p + off * 8, &v, 8);
    }
  }
}

void mutate_backward(Call& c) {
  fz::Source& s = *c.src;
  switch (s.below(3)) {
    case 0: c.p_null = true; c.mutations.push_back("p=NULL"); return;
    case 1: {
      static const int32_t v[] = {2, -1, INT32_MIN, INT32_MAX};
      c.i0 = s.pick(v);
      c.mutations.push_back("scale_grad_by_freq=" + std::to_string(c.i0));
      return;
    }
    default: {
      static const int64_t v[] = {-2, INT64_MIN, INT64_MAX, -1, 0};
      c.g[1] = s.coin(1, 3) ? c.g[0] : s.pick(v);  // V: one past the last row
      c.mutations.push_back("padding_idx=" + fz::fmt_i64(c.g[1]));
    }
  }
}

void finish_backward(Call& c) {
  if (c.p_null) return c.must_fail("params-null");
  if (c.i0 != 0 && c.i0 != 1) c.must_fail("param-range", "scale_grad_by_freq");
  if (c.g[1] < -1 || c.g[1] >= c.g[0]) {
    // Against the generated V; a mutated dweight may have another one.
    if (c.touched & (1u << 2)) c.either("padding-after-mutation");
    else c.must_fail("param-range", "padding_idx");
  }
}

void mutate_renorm(Call& c) {
  if (c.src->coin(1, 2)) {
    static const double v[] = {-1.0, -1e-300, kNan, kInf, -kInf};
    c.dp[0] = c.src->pick(v);
  } else {
    static const double v[] = {0.0, -0.0, -1.0, -kInf, kNan, 1e-300};
    c.dp[1] = c.src->pick(v);
  }
  c.mutations.push_back("scalars mutated");
}

void finish_renorm(Call& c) {
  if (!(c.dp[0] >= 0.0 && std::isfinite(c.dp[0]))) c.must_fail("param-range", "max_norm");
  if (!(c.dp[1] > 0.0)) c.must_fail("param-range", "norm_type");
}

kn_status invoke_forward(Call& c) { return kn_embedding_forward(c.t(0), c.t(1), c.t(2), c.exec()); }
kn_status invoke_backward(Call& c) {
  const kn_embedding_params p{c.g[1], c.i0};
  return kn_embedding_backward(c.p_null ? nullptr : &p, c.t(0), c.t(1), c.t(2), c.exec());
}
kn_status invoke_renorm(Call& c) { return kn_embedding_renorm(c.dp[0], c.dp[1], c.t(0), c.t(1), c.exec()); }

std::string describe_forward(const Call& c) { return "V=" + std::to_string(c.g[0]); }
std::string describe_backward(const Call& c) {
  if (c.p_null) return "p=NULL V=" + std::to_string(c.g[0]);
  return "p{padding_idx=" + fz::fmt_i64(c.g[1]) + " scale_grad_by_freq=" + std::to_string(c.i0) +
         "} V=" + std::to_string(c.g[0]);
}
std::string describe_renorm(const Call& c) {
  return "max_norm=" + std::to_string(c.dp[0]) + " norm_type=" + std::to_string(c.dp[1]) +
         " V=" + std::to_string(c.g[0]);
}

constexpr fz::Slot in(const char* n, int nd = -1, fz::Kind k = fz::Kind::Float) {
  return {n, fz::Role::In, k, nd, false};
}
constexpr fz::Slot out(const char* n, int nd = -1) { return {n, fz::Role::Out, fz::Kind::Float, nd, false}; }

[[maybe_unused]] const int kForward = fz::register_entry(
    {"kn_embedding_forward", {in("weight", 2), in("indices", -1, fz::Kind::Index), out("y")}, gen_forward,
     invoke_forward, nullptr, nullptr, fill_forward, describe_forward, {}, 0});
[[maybe_unused]] const int kBackward = fz::register_entry(
    {"kn_embedding_backward", {in("dy"), in("indices", -1, fz::Kind::Index), out("dweight", 2)}, gen_backward,
     invoke_backward, mutate_backward, finish_backward, fill_backward, describe_backward, {}, 0});
[[maybe_unused]] const int kRenorm = fz::register_entry(
    {"kn_embedding_renorm", {out("weight", 2), in("indices", -1, fz::Kind::Index)}, gen_renorm, invoke_renorm,
     mutate_renorm, finish_renorm, fill_renorm, describe_renorm, {}, 0});

}  // namespace
