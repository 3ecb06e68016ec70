// The saved argmax indices of a max pooling backward (entries.cpp:
// kn_max_pool2d_backward, ops/adaptive_pool2d.cpp: kn_adaptive_max_pool2d_backward),
// generated once for both: argument slots dy = 0, indices = 1, dx = 2;
// indices:(N,C,Ho,Wo) hold flat positions h * W + w of dx's (H, W) plane.
#pragma once

#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>

#include "harness.hpp"

namespace fz {

// Indices in [-1, H*W) of the generated plane (c.g[0] x c.g[1]), from
// c.data_seed ^ salt. A mutated dx whose plane is smaller makes some out of
// range (then either outcome is fine, dx unspecified). With mutate_content,
// one index on a CPU call is set outside, to one of {0, 1, past_end, -2,
// INT32_MIN} (>= 0: beyond dx's plane): the library must refuse it, unless
// either_if_touched and a descriptor was mutated too (then either outcome).
inline void fill_max_pool_indices(Call& c, uint64_t salt, int64_t past_end, bool either_if_touched) {
  const int64_t n = fill_count(c, 1), plane = c.g[0] * c.g[1];
  if (n <= 0) return;
  // The plane the library checks against: dx's, after the mutations.
  const kn_tensor& dx = c.a[2].t;
  int64_t actual = plane;
  if (c.a[2].present && dx.ndim == 4 && dx.shape[2] >= 0 && dx.shape[3] >= 0 &&
      static_cast<__int128>(dx.shape[2]) * dx.shape[3] <= INT32_MAX)
    actual = dx.shape[2] * dx.shape[3];
  uint64_t rs = c.data_seed ^ salt;
  int64_t top = -1;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t v = static_cast<int64_t>(splitmix(rs) % static_cast<uint64_t>(plane + 1)) - 1;
    set_index(c, 1, i, v);
    top = std::max(top, v);
  }
  if (top >= actual) {  // a mutated dx made some index out of range
    c.either("index-outside-dx", "indices");
    c.lenient_dx = true;
  }
  if (c.mutate_content && c.a[1].present && c.a[1].t.device_type == KN_DEVICE_CPU) {
    const int64_t i = c.src->range(0, n - 1);
    const int64_t bad[] = {0, 1, past_end, -2, INT32_MIN};
    int64_t v = c.src->pick(bad);
    if (v >= 0) v += actual;
    set_index(c, 1, i, v);
    c.mutations.push_back("indices[" + std::to_string(i) + "]=" + fmt_i64(v));
    if (either_if_touched && c.touched) c.either("bad-index-after-mutation");
    else c.must_fail("bad-index", "indices");
    c.lenient_dx = true;
  }
}

}  // namespace fz
