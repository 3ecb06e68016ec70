// Validation of the saved argmax indices shared by the max pooling entries
// (capi/pool2d.cpp: kn_max_pool2d_*, capi/adaptive_pool2d.cpp:
// kn_adaptive_max_pool2d_*).
#pragma once

#include <climits>
#include <cstdint>

#include "capi/validate.hpp"

namespace kn::capi {

// int32 indices hold flat positions h * W + w of one (H, W) plane: refused
// when the plane has more elements than int32 can index (they would wrap).
// indices: (N, C, Ho, Wo); plane: x (forward) or dx (backward), (N, C, H, W).
inline void check_index_width(OpValidator& v, const kn_tensor& indices, const kn_tensor& plane,
                              const char* plane_name) {
  const int64_t H = plane.shape[2], W = plane.shape[3];
  v.require(indices.dtype != KN_INT32 || H == 0 || W <= INT32_MAX / H, KN_ERR_UNSUPPORTED,
            "indices: int32 cannot index a plane of ", plane_name, " with H * W = ", H, " * ", W,
            " > INT32_MAX elements: use int64 indices");
}

}  // namespace kn::capi
