// The fuzz entries of kn_adaptive_avg_pool2d_* / kn_adaptive_max_pool2d_* (make fuzz
// ENTRY=kn_adaptive_avg_pool2d_forward): valid calls of every layout the harness makes,
// output sizes from 0 (forwards) to larger than the input, and for the max backward
// indices anywhere in [-1, H*W) plus a planted out-of-range one, which the CPU entry
// must refuse. Empty dims that torch refuses are generated only through the
// harness's own shape mutations (either outcome accepted there).
//
// Call fields used: g[0] = H, g[1] = W (the plane the indices point into).
#include <algorithm>
#include <string>

#include "harness.hpp"
#include "pool_indices.hpp"
#include "kernels/adaptive_pool2d.h"

namespace {

using fz::Call;

struct Sizes {
  int64_t N, C, H, W, Ho, Wo;
};

// N >= 0; C >= 1 (or 0 when c_may_be_0); H, W >= 1; Ho, Wo >= 1 (or 0 when out_may_be_0).
Sizes gen_sizes(Call& c, bool c_may_be_0, bool out_may_be_0) {
  Sizes z{};
  z.N = fz::small_size(c, 0, 3);
  z.C = fz::small_size(c, c_may_be_0 ? 0 : 1, 4);
  z.H = fz::small_size(c, 1, 12), z.W = fz::small_size(c, 1, 12);
  z.Ho = fz::small_size(c, out_may_be_0 ? 0 : 1, z.H + 3);
  z.Wo = fz::small_size(c, out_may_be_0 ? 0 : 1, z.W + 3);
  c.g[0] = z.H, c.g[1] = z.W;
  return z;
}

void gen_avg_fwd(Call& c) {  // x y
  const Sizes z = gen_sizes(c, true, true);
  const int32_t dt = fz::float_dtype(c);
  fz::make(c, 0, {z.N, z.C, z.H, z.W}, dt);
  fz::make(c, 1, {z.N, z.C, z.Ho, z.Wo}, dt);
}
void gen_avg_bwd(Call& c) {  // dy dx
  const Sizes z = gen_sizes(c, false, false);
  const int32_t dt = fz::float_dtype(c);
  fz::make(c, 0, {z.N, z.C, z.Ho, z.Wo}, dt);
  fz::make(c, 1, {z.N, z.C, z.H, z.W}, dt);
}
void gen_max_fwd(Call& c) {  // x y indices
  const Sizes z = gen_sizes(c, false, true);
  const int32_t dt = fz::float_dtype(c);
  fz::make(c, 0, {z.N, z.C, z.H, z.W}, dt);
  fz::make(c, 1, {z.N, z.C, z.Ho, z.Wo}, dt);
  fz::make(c, 2, {z.N, z.C, z.Ho, z.Wo}, fz::index_dtype(c));
}
void gen_max_bwd(Call& c) {  // dy indices dx
  const Sizes z = gen_sizes(c, false, false);
  const int32_t dt = fz::float_dtype(c);
  fz::make(c, 0, {z.N, z.C, z.Ho, z.Wo}, dt);
  fz::make(c, 1, {z.N, z.C, z.Ho, z.Wo}, fz::index_dtype(c));
  fz::make(c, 2, {z.N, z.C, z.H, z.W}, dt);
}

// indices in [-1, H*W) of the generated plane; with mutate_content one outside (the
// CPU must refuse it; dx is then unspecified).
void fill_max_bwd(Call& c) { fz::fill_max_pool_indices(c, 0x7a3c1f05, 5, true); }

kn_status invoke_avg_fwd(Call& c) { return kn_adaptive_avg_pool2d_forward(c.t(0), c.t(1), c.exec()); }
kn_status invoke_avg_bwd(Call& c) { return kn_adaptive_avg_pool2d_backward(c.t(0), c.t(1), c.exec()); }
kn_status invoke_max_fwd(Call& c) { return kn_adaptive_max_pool2d_forward(c.t(0), c.t(1), c.t(2), c.exec()); }
kn_status invoke_max_bwd(Call& c) { return kn_adaptive_max_pool2d_backward(c.t(0), c.t(1), c.t(2), c.exec()); }

std::string describe(const Call& c) { return "H=" + std::to_string(c.g[0]) + " W=" + std::to_string(c.g[1]); }

constexpr fz::Slot in(const char* n, int nd = -1, fz::Kind k = fz::Kind::Float) {
  return {n, fz::Role::In, k, nd, false};
}
constexpr fz::Slot out(const char* n, int nd = -1, fz::Kind k = fz::Kind::Float) {
  return {n, fz::Role::Out, k, nd, false};
}

[[maybe_unused]] const int kAvgForward = fz::register_entry(
    {"kn_adaptive_avg_pool2d_forward", {in("x", 4), out("y", 4)}, gen_avg_fwd, invoke_avg_fwd, nullptr,
     nullptr, nullptr, describe, {}, 0});
[[maybe_unused]] const int kAvgBackward = fz::register_entry(
    {"kn_adaptive_avg_pool2d_backward", {in("dy", 4), out("dx", 4)}, gen_avg_bwd, invoke_avg_bwd, nullptr,
     nullptr, nullptr, describe, {}, 0});
[[maybe_unused]] const int kMaxForward = fz::register_entry(
    {"kn_adaptive_max_pool2d_forward", {in("x", 4), out("y", 4), out("indices", 4, fz::Kind::Index)},
     gen_max_fwd, invoke_max_fwd, nullptr, nullptr, nullptr, describe, {}, 0});
[[maybe_unused]] const int kMaxBackward = fz::register_entry(
    {"kn_adaptive_max_pool2d_backward", {in("dy", 4), in("indices", 4, fz::Kind::Index), out("dx", 4)},
     gen_max_bwd, invoke_max_bwd, nullptr, nullptr, fill_max_bwd, describe, {}, 0});

}  // namespace
