// The fuzz entries of kn_layer_norm_forward / _backward (make fuzz
// ENTRY=kn_layer_norm_forward): valid calls of every layout the harness makes (x of 1 to
// 4 dims, k = normalized_ndim in [1, ndim], weight/bias present or NULL, sizes down to 0),
// and p->normalized_ndim / p->eps mutated out of their rules, which must be refused with
// nothing written.
//
// Call fields used: i0 = normalized_ndim (i1: as generated), dp[0] = eps, p_null = the params pointer is NULL.
#include <algorithm>
#include <cstdint>
#include <string>

#include "harness.hpp"
#include "kernels/layer_norm.h"
#include "norm_entry.hpp"

namespace {

using fz::Call;
using Shape = std::vector<int64_t>;

struct Split {
  Shape x, lead, norm;
};

Split gen_shapes(Call& c) {
  Split s;
  s.x = fz::any_shape(c, 1, 4);
  const int nd = static_cast<int>(s.x.size());
  c.i0 = c.i1 = static_cast<int32_t>(c.src->range(1, nd));  // i1: the generated value
  c.dp[0] = c.src->coin(1, 4) ? 0.0 : 1e-5;
  s.lead.assign(s.x.begin(), s.x.end() - c.i0);
  s.norm.assign(s.x.end() - c.i0, s.x.end());
  return s;
}

void gen_forward(Call& c) {  // x weight bias y mean rstd
  const Split s = gen_shapes(c);
  fz_norm::make_forward(c, s.x, s.norm, s.lead);
}

void gen_backward(Call& c) {  // dy x weight mean rstd dx dweight dbias
  const Split s = gen_shapes(c);
  fz_norm::make_backward(c, s.x, s.norm, s.lead);
}

void mutate(Call& c) {
  fz_norm::mutate_params(c, [&c](fz::Source& s) {
    static const int32_t v[] = {0, -1, 9, INT32_MIN, INT32_MAX};
    // past the dims, without overflowing an earlier INT32_MAX (UB in the harness)
    c.i0 = s.coin(1, 3) ? static_cast<int32_t>(std::min<int64_t>(int64_t{c.i0} + 4, INT32_MAX)) : s.pick(v);
    c.mutations.push_back("normalized_ndim=" + std::to_string(c.i0));
  });
}

void finish(Call& c) {
  if (!fz_norm::finish_params(c)) return;
  const int xs = std::string(c.e->name) == "kn_layer_norm_forward" ? 0 : 1;
  const bool k_ok = c.i0 >= 1 && c.i0 <= c.a[static_cast<size_t>(xs)].t.ndim;
  if (c.i0 == c.i1) return;  // not mutated
  if (c.touched & (1u << xs)) {
    c.either("k-after-x-mutation");  // x's ndim changed: the descriptor checks decide
  } else if (!k_ok) {
    c.must_fail("param-range", "normalized_ndim");
  } else {
    c.either("k-changed");  // still in range: the shapes of weight, mean... decide
  }
}

kn_status invoke_forward(Call& c) {
  const kn_layer_norm_params p{c.i0, c.dp[0]};
  return kn_layer_norm_forward(c.p_null ? nullptr : &p, c.t(0), c.t(1), c.t(2), c.t(3), c.t(4), c.t(5), c.exec());
}
kn_status invoke_backward(Call& c) {
  const kn_layer_norm_params p{c.i0, c.dp[0]};
  return kn_layer_norm_backward(c.p_null ? nullptr : &p, c.t(0), c.t(1), c.t(2), c.t(3), c.t(4), c.t(5), c.t(6),
                                c.t(7), c.exec());
}

std::string describe(const Call& c) {
  if (c.p_null) return "p=NULL";
  return "p{normalized_ndim=" + std::to_string(c.i0) + " eps=" + std::to_string(c.dp[0]) + "}";
}

constexpr fz::Slot in(const char* n, int nd = -1) { return {n, fz::Role::In, fz::Kind::Float, nd, false}; }
constexpr fz::Slot in_opt(const char* n, int nd = -1) { return {n, fz::Role::In, fz::Kind::Float, nd, true}; }
constexpr fz::Slot out(const char* n, int nd = -1) { return {n, fz::Role::Out, fz::Kind::Float, nd, false}; }
constexpr fz::Slot out_opt(const char* n, int nd = -1) { return {n, fz::Role::Out, fz::Kind::Float, nd, true}; }

[[maybe_unused]] const int kForward = fz::register_entry(
    {"kn_layer_norm_forward", {in("x"), in_opt("weight"), in_opt("bias"), out("y"), out("mean"), out("rstd")},
     gen_forward, invoke_forward, mutate, finish, nullptr, describe, {}, 0});
[[maybe_unused]] const int kBackward = fz::register_entry(
    {"kn_layer_norm_backward",
     {in("dy"), in("x"), in_opt("weight"), in("mean"), in("rstd"), out_opt("dx"), out_opt("dweight"),
      out_opt("dbias")},
     gen_backward, invoke_backward, mutate, finish, nullptr, describe, {}, 0});

}  // namespace
