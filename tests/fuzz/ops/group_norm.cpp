// The fuzz entries of kn_group_norm_forward / _backward (make fuzz
// ENTRY=kn_group_norm_forward): valid calls of every layout the harness makes (x of 2 to
// 4 dims, C = num_groups x channels per group, weight/bias present or NULL, sizes down to
// 0), and p->num_groups / p->eps mutated out of their rules (0, negative, not dividing C),
// which must be refused with nothing written.
//
// Call fields used: g[0] = num_groups (g[1]: as generated), dp[0] = eps, p_null = the params pointer is NULL.
#include <string>

#include "harness.hpp"
#include "kernels/group_norm.h"
#include "norm_entry.hpp"

namespace {

using fz::Call;
using Shape = std::vector<int64_t>;

Shape gen_shape(Call& c) {
  Shape x = fz::any_shape(c, 2, 4);
  c.g[0] = c.g[1] = fz::small_size(c, 1, 4);  // g[1]: the generated value
  x[1] = c.g[0] * fz::small_size(c, 0, 3);
  c.dp[0] = c.src->coin(1, 4) ? 0.0 : 1e-5;
  return x;
}

void gen_forward(Call& c) {  // x weight bias y mean rstd
  const Shape x = gen_shape(c);
  fz_norm::make_forward(c, x, {x[1]}, {x[0], c.g[0]});
}

void gen_backward(Call& c) {  // dy x weight mean rstd dx dweight dbias
  const Shape x = gen_shape(c);
  fz_norm::make_backward(c, x, {x[1]}, {x[0], c.g[0]});
}

void mutate(Call& c) {
  fz_norm::mutate_params(c, [&c](fz::Source& s) {
    static const int64_t v[] = {0, -1, INT64_MIN, INT64_MAX, 5, 7};
    c.g[0] = s.pick(v);
    c.mutations.push_back("num_groups=" + fz::fmt_i64(c.g[0]));
  });
}

void finish(Call& c) {
  if (!fz_norm::finish_params(c)) return;
  if (c.g[0] == c.g[1]) return;  // not mutated
  if (c.g[0] < 1) return c.must_fail("param-range", "num_groups");
  const int xs = std::string(c.e->name) == "kn_group_norm_forward" ? 0 : 1;
  const kn_tensor& x = c.a[static_cast<size_t>(xs)].t;
  if (c.touched) {
    c.either("groups-after-mutation");  // C or the stats' shape may have changed
  } else if (x.ndim >= 2 && x.shape[1] % c.g[0] != 0) {
    c.must_fail("param-range", "num_groups");
  } else {
    c.either("groups-changed");  // still divides C: the stats' shape decides
  }
}

kn_status invoke_forward(Call& c) {
  const kn_group_norm_params p{c.g[0], c.dp[0]};
  return kn_group_norm_forward(c.p_null ? nullptr : &p, c.t(0), c.t(1), c.t(2), c.t(3), c.t(4), c.t(5), c.exec());
}
kn_status invoke_backward(Call& c) {
  const kn_group_norm_params p{c.g[0], c.dp[0]};
  return kn_group_norm_backward(c.p_null ? nullptr : &p, c.t(0), c.t(1), c.t(2), c.t(3), c.t(4), c.t(5), c.t(6),
                                c.t(7), c.exec());
}

std::string describe(const Call& c) {
  if (c.p_null) return "p=NULL";
  return "p{num_groups=" + fz::fmt_i64(c.g[0]) + " eps=" + std::to_string(c.dp[0]) + "}";
}

constexpr fz::Slot in(const char* n, int nd = -1) { return {n, fz::Role::In, fz::Kind::Float, nd, false}; }
constexpr fz::Slot in_opt(const char* n, int nd = -1) { return {n, fz::Role::In, fz::Kind::Float, nd, true}; }
constexpr fz::Slot out(const char* n, int nd = -1) { return {n, fz::Role::Out, fz::Kind::Float, nd, false}; }
constexpr fz::Slot out_opt(const char* n, int nd = -1) { return {n, fz::Role::Out, fz::Kind::Float, nd, true}; }

[[maybe_unused]] const int kForward = fz::register_entry(
    {"kn_group_norm_forward", {in("x"), in_opt("weight", 1), in_opt("bias", 1), out("y"), out("mean", 2), out("rstd", 2)},
     gen_forward, invoke_forward, mutate, finish, nullptr, describe, {}, 0});
[[maybe_unused]] const int kBackward = fz::register_entry(
    {"kn_group_norm_backward",
     {in("dy"), in("x"), in_opt("weight", 1), in("mean", 2), in("rstd", 2), out_opt("dx"), out_opt("dweight", 1),
      out_opt("dbias", 1)},
     gen_backward, invoke_backward, mutate, finish, nullptr, describe, {}, 0});

}  // namespace
