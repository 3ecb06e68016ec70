// The fuzz entries of kn_batch_norm_forward / _backward (make fuzz
// ENTRY=kn_batch_norm_forward): valid calls of every layout the harness makes (x of 2 to 8
// dims, N and C down to 0, weight / bias / running stats / backward outputs present or
// not, training and eval), eps / momentum / training at valid values or (mutated) out of
// their rules, NULL params, and the mode rules (one value per channel in training,
// running stats missing in eval, only one of the two), which must be refused.
//
// Call fields used: i0 = training, dp[0] = eps, dp[1] = momentum, p_null = params NULL.
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "harness.hpp"
#include "kernels/batch_norm.h"

namespace {

using fz::Call;
using Shape = std::vector<int64_t>;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

int64_t per_channel(const Shape& s) {
  int64_t m = 1;
  for (size_t d = 0; d < s.size(); ++d)
    if (d != 1) m *= s[d];
  return m;
}

Shape x_shape(Call& c) {
  Shape s = fz::any_shape(c, 2, 5);
  if (c.i0 && per_channel(s) == 1) s[0] = 2;  // training needs 2+ values per channel
  return s;
}

void gen_params(Call& c) {
  static const double eps[] = {1e-5, 0.0, 1e-3, 0.5};
  static const double mom[] = {0.1, 0.0, 1.0, 0.5, -0.5};
  c.i0 = c.src->coin(2, 3);
  c.dp[0] = c.src->pick(eps);
  c.dp[1] = c.src->pick(mom);
}

void gen_forward(Call& c) {  // x weight bias running_mean running_var y save_mean save_invstd
  gen_params(c);
  const Shape s = x_shape(c);
  const Shape cs{s[1]};
  const int32_t dt = fz::float_dtype(c);
  fz::make(c, 0, s, dt);
  if (c.src->coin(2, 3)) fz::make(c, 1, cs, dt);
  if (c.src->coin(2, 3)) fz::make(c, 2, cs, dt);
  if (!c.i0 || c.src->coin(1, 2)) fz::make(c, 3, cs, dt), fz::make(c, 4, cs, dt);
  fz::make(c, 5, s, dt);
  fz::make(c, 6, cs, dt);
  fz::make(c, 7, cs, dt);
}

void gen_backward(Call& c) {  // dy x weight save_mean save_invstd dx dweight dbias
  gen_params(c);
  const Shape s = fz::any_shape(c, 2, 5);
  const Shape cs{s[1]};
  const int32_t dt = fz::float_dtype(c);
  fz::make(c, 0, s, dt);
  fz::make(c, 1, s, dt);
  if (c.src->coin(2, 3)) fz::make(c, 2, cs, dt);
  fz::make(c, 3, cs, dt);
  fz::make(c, 4, cs, dt);
  if (c.src->coin(3, 4)) fz::make(c, 5, s, dt);
  if (c.src->coin(1, 2)) fz::make(c, 6, cs, dt);
  if (c.src->coin(1, 2)) fz::make(c, 7, cs, dt);
}

// The running stats are read (eval) and written (training): give them values, as the
// harness poisons outputs and checks a successful call left none of the poison.
void fill_forward(Call& c) {
  for (int slot : {3, 4}) {
    const int64_t n = fz::fill_count(c, slot);
    const fz::Arg& a = c.a[static_cast<size_t>(slot)];
    if (n <= 0 || !a.present) continue;
    const kn_tensor& t = a.t;
    if ((t.dtype != KN_FLOAT32 && t.dtype != KN_FLOAT64) || t.ndim != 1) continue;
    for (int64_t i = 0; i < n; ++i) {
      const double v = 0.5 + 0.25 * static_cast<double>(i % 5);
      char* p = static_cast<char*>(t.data) + i * t.strides[0] * (t.dtype == KN_FLOAT32 ? 4 : 8);
      if (t.dtype == KN_FLOAT32) {
        const float f = static_cast<float>(v);
        std::memcpy(p, &f, 4);
      } else {
        std::memcpy(p, &v, 8);
      }
    }
  }
}

void mutate_params(Call& c) {
  fz::Source& s = *c.src;
  switch (s.below(4)) {
    case 0: c.p_null = true; c.mutations.push_back("p=NULL"); return;
    case 1: {
      static const double v[] = {-1e-5, -kInf, kInf, kNan, -0.0};
      c.dp[0] = s.pick(v);
      c.mutations.push_back("eps mutated");
      return;
    }
    case 2: {
      static const double v[] = {kInf, -kInf, kNan};
      c.dp[1] = s.pick(v);
      c.mutations.push_back("momentum mutated");
      return;
    }
    default: {
      static const int32_t v[] = {2, -1, INT32_MIN, INT32_MAX};
      c.i0 = s.pick(v);
      c.mutations.push_back("training=" + std::to_string(c.i0));
    }
  }
}

void finish_params(Call& c) {
  if (c.p_null) return c.must_fail("params-null");
  if (!(c.dp[0] >= 0.0 && std::isfinite(c.dp[0]))) c.must_fail("param-range", "eps");
  if (!std::isfinite(c.dp[1])) c.must_fail("param-range", "momentum");
  if (c.i0 != 0 && c.i0 != 1) c.must_fail("param-range", "training");
}

void finish_forward(Call& c) {
  finish_params(c);
  if (c.p_null || (c.i0 != 0 && c.i0 != 1)) return;
  const bool rm = c.a[3].present, rv = c.a[4].present;
  const bool touched = (c.touched & ((1u << 3) | (1u << 4))) != 0;
  if (rm != rv || (!c.i0 && !rm)) {
    if (touched) c.either("running-after-mutation");
    else c.must_fail("running-stats");
  }
  const kn_tensor& x = c.a[0].t;
  if (c.i0 && c.a[0].present && x.ndim >= 2 && x.ndim <= KN_MAX_DIMS) {
    Shape s(x.shape, x.shape + x.ndim);
    bool sane = true;
    for (int64_t v : s) sane = sane && v >= 0 && v < (int64_t(1) << 20);
    if (sane && per_channel(s) == 1) {
      if (c.touched & 1u) c.either("one-value-after-mutation");
      else c.must_fail("one-value-per-channel");
    }
  }
}

kn_status invoke_forward(Call& c) {
  const kn_batch_norm_params p{c.dp[0], c.dp[1], c.i0};
  return kn_batch_norm_forward(c.p_null ? nullptr : &p, c.t(0), c.t(1), c.t(2), c.t(3), c.t(4),
                               c.t(5), c.t(6), c.t(7), c.exec());
}
kn_status invoke_backward(Call& c) {
  const kn_batch_norm_params p{c.dp[0], c.dp[1], c.i0};
  return kn_batch_norm_backward(c.p_null ? nullptr : &p, c.t(0), c.t(1), c.t(2), c.t(3), c.t(4),
                                c.t(5), c.t(6), c.t(7), c.exec());
}

std::string describe(const Call& c) {
  if (c.p_null) return "p=NULL";
  return "p{eps=" + std::to_string(c.dp[0]) + " momentum=" + std::to_string(c.dp[1]) +
         " training=" + std::to_string(c.i0) + "}";
}

constexpr fz::Slot in(const char* n, int nd = -1, bool nullable = false) {
  return {n, fz::Role::In, fz::Kind::Float, nd, nullable};
}
constexpr fz::Slot out(const char* n, int nd = -1, bool nullable = false) {
  return {n, fz::Role::Out, fz::Kind::Float, nd, nullable};
}

[[maybe_unused]] const int kForward = fz::register_entry(
    {"kn_batch_norm_forward",
     {in("x"), in("weight", 1, true), in("bias", 1, true), out("running_mean", 1, true),
      out("running_var", 1, true), out("y"), out("save_mean", 1), out("save_invstd", 1)},
     gen_forward, invoke_forward, mutate_params, finish_forward, fill_forward, describe, {}, 0});
[[maybe_unused]] const int kBackward = fz::register_entry(
    {"kn_batch_norm_backward",
     {in("dy"), in("x"), in("weight", 1, true), in("save_mean", 1), in("save_invstd", 1),
      out("dx", -1, true), out("dweight", 1, true), out("dbias", 1, true)},
     gen_backward, invoke_backward, mutate_params, finish_params, nullptr, describe, {}, 0});

}  // namespace
