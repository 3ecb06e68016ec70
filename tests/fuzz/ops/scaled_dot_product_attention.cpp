// The fuzz entries of kn_scaled_dot_product_attention_forward / _backward
// (make fuzz ENTRY=kn_scaled_dot_product_attention_forward): valid calls with 0
// to 3 batch dims, k / v batch dims each q's size or 1 (GQA broadcast), L, S,
// E, Ev down to 0 and past the kernel's 64 x 128 tiles now and then, an
// optional attn_mask (float of the call's dtype, or bool / uint8) with each
// dim q's size or 1, is_causal, dropout; the backward with any of dq, dk, dv
// present. Parameters mutated out of their rules (scale NaN / inf, dropout_p
// outside [0, 1] or NaN, is_causal not 0 / 1, p NULL) must be refused with
// nothing written.
//
// Call fields used: dp[0] = scale, dp[1] = dropout_p, u0 = seed, i0 = is_causal,
// p_null = the params pointer is NULL.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "harness.hpp"
#include "kernels/scaled_dot_product_attention.h"

namespace {

using fz::Call;
using Shape = std::vector<int64_t>;

struct Shapes {
  Shape q, k, v, out, lse, mask;
};

Shapes gen_shapes(Call& c) {
  fz::Source& s = *c.src;
  const int nb = static_cast<int>(s.range(0, 3));
  const bool big = s.coin(1, 8);  // past one tile: the blocked paths
  Shape b, bk, bv, bm;
  for (int d = 0; d < nb; ++d) {
    b.push_back(fz::small_size(c, 0, big ? 2 : 3));
    bk.push_back(s.coin(1, 3) ? 1 : b.back());
    bv.push_back(s.coin(1, 4) ? (bk.back() == 1 ? b.back() : 1) : bk.back());  // mostly as k
    bm.push_back(s.coin(1, 2) ? 1 : b.back());
  }
  const int64_t L = fz::small_size(c, 0, big ? 140 : 9), S = fz::small_size(c, 0, big ? 270 : 9);
  const int64_t E = fz::small_size(c, 0, big ? 20 : 6), Ev = fz::small_size(c, 0, big ? 20 : 6);
  auto cat = [](Shape a, std::initializer_list<int64_t> t) {
    a.insert(a.end(), t);
    return a;
  };
  Shapes r;
  r.q = cat(b, {L, E}), r.k = cat(bk, {S, E}), r.v = cat(bv, {S, Ev});
  r.out = cat(b, {L, Ev}), r.lse = cat(b, {L});
  r.mask = cat(bm, {s.coin(1, 4) ? 1 : L, s.coin(1, 4) ? 1 : S});
  // Parameters: finite scale, dropout mostly off.
  static const double scales[] = {0.125, 0.5, 1.0, -0.7, 0.0, 30.0};
  static const double ps[] = {0.0, 0.0, 0.0, 0.3, 0.9, 1.0};
  c.dp[0] = s.pick(scales);
  c.dp[1] = s.pick(ps);
  c.u0 = s.u64();
  c.i0 = s.coin(1, 2) ? 1 : 0;
  return r;
}

void make_mask(Call& c, int slot, const Shape& shape, int32_t dt) {
  if (c.src->coin(1, 2)) fz::make(c, slot, shape, c.src->coin(1, 2) ? dt : fz::mask_dtype(c));
}

void gen_forward(Call& c) {  // q k v attn_mask out lse
  const Shapes s = gen_shapes(c);
  const int32_t dt = fz::float_dtype(c);
  fz::make(c, 0, s.q, dt);
  fz::make(c, 1, s.k, dt);
  fz::make(c, 2, s.v, dt);
  make_mask(c, 3, s.mask, dt);
  fz::make(c, 4, s.out, dt);
  fz::make(c, 5, s.lse, dt);
}

void gen_backward(Call& c) {  // dout q k v attn_mask out lse dq dk dv
  const Shapes s = gen_shapes(c);
  const int32_t dt = fz::float_dtype(c);
  fz::make(c, 0, s.out, dt);
  fz::make(c, 1, s.q, dt);
  fz::make(c, 2, s.k, dt);
  fz::make(c, 3, s.v, dt);
  make_mask(c, 4, s.mask, dt);
  fz::make(c, 5, s.out, dt);
  fz::make(c, 6, s.lse, dt);
  if (c.src->coin(3, 4)) fz::make(c, 7, s.q, dt);
  if (c.src->coin(3, 4)) fz::make(c, 8, s.k, dt);
  if (c.src->coin(3, 4)) fz::make(c, 9, s.v, dt);
}

void mutate(Call& c) {
  fz::Source& s = *c.src;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
  switch (s.below(4)) {
    case 0:
      c.p_null = true;
      c.mutations.push_back("p=NULL");
      return;
    case 1: {
      static const double v[] = {kNan, kInf, -kInf};
      c.dp[0] = s.pick(v);
      c.mutations.push_back("scale=" + std::to_string(c.dp[0]));
      return;
    }
    case 2: {
      static const double v[] = {kNan, -0.1, 1.0000001, 2.0, -1e-300, kInf};
      c.dp[1] = s.pick(v);
      c.mutations.push_back("dropout_p=" + std::to_string(c.dp[1]));
      return;
    }
    default: {
      static const int32_t v[] = {2, -1, INT32_MIN, INT32_MAX};
      c.i0 = s.pick(v);
      c.mutations.push_back("is_causal=" + std::to_string(c.i0));
    }
  }
}

void finish(Call& c) {
  if (c.p_null) {
    c.must_fail("params-null");
    return;
  }
  if (!std::isfinite(c.dp[0])) c.must_fail("param-range", "scale");
  if (!(c.dp[1] >= 0.0 && c.dp[1] <= 1.0)) c.must_fail("param-range", "dropout_p");
  if (c.i0 != 0 && c.i0 != 1) c.must_fail("param-range", "is_causal");
}

kn_scaled_dot_product_attention_params params(const Call& c) {
  return {c.dp[0], c.dp[1], c.u0, c.i0};
}

kn_status invoke_forward(Call& c) {
  const auto p = params(c);
  return kn_scaled_dot_product_attention_forward(c.p(p), c.t(0), c.t(1), c.t(2), c.t(3), c.t(4), c.t(5),
                                                 c.exec());
}
kn_status invoke_backward(Call& c) {
  const auto p = params(c);
  return kn_scaled_dot_product_attention_backward(c.p(p), c.t(0), c.t(1), c.t(2), c.t(3), c.t(4), c.t(5),
                                                  c.t(6), c.t(7), c.t(8), c.t(9), c.exec());
}

std::string describe(const Call& c) {
  if (c.p_null) return "p=NULL";
  return "p{scale=" + std::to_string(c.dp[0]) + " dropout_p=" + std::to_string(c.dp[1]) +
         " seed=" + std::to_string(c.u0) + " is_causal=" + std::to_string(c.i0) + "}";
}

constexpr fz::Slot in(const char* n) { return {n, fz::Role::In, fz::Kind::Float, -1, false}; }
constexpr fz::Slot mask(const char* n) { return {n, fz::Role::In, fz::Kind::FloatOrMask, -1, true}; }
constexpr fz::Slot out(const char* n) { return {n, fz::Role::Out, fz::Kind::Float, -1, false}; }
constexpr fz::Slot out_opt(const char* n) { return {n, fz::Role::Out, fz::Kind::Float, -1, true}; }

[[maybe_unused]] const int kForward = fz::register_entry(
    {"kn_scaled_dot_product_attention_forward",
     {in("q"), in("k"), in("v"), mask("attn_mask"), out("out"), out("lse")}, gen_forward, invoke_forward,
     mutate, finish, nullptr, describe, {}, 0});
[[maybe_unused]] const int kBackward = fz::register_entry(
    {"kn_scaled_dot_product_attention_backward",
     {in("dout"), in("q"), in("k"), in("v"), mask("attn_mask"), in("out"), in("lse"), out_opt("dq"),
      out_opt("dk"), out_opt("dv")},
     gen_backward, invoke_backward, mutate, finish, nullptr, describe, {}, 0});

}  // namespace
