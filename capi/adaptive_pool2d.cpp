// C entry points of adaptive_avg_pool2d and adaptive_max_pool2d: validate the
// tensors (the output size is the output's shape; torch's refusals of empty
// dims), then run the CPU or CUDA kernel.
#include <climits>

#include "capi/boundary.hpp"
#include "capi/pool_indices.hpp"
#include "capi/validate.hpp"
#include "kernels/ops/adaptive_pool2d.hpp"

namespace {

using kn::capi::Dim;
using kn::capi::OpValidator;
using kn::capi::check_index_width;

// The kernels compute the bins in int64 as (o + 1) in + out - 1 for o < out:
// refused when out * (in + 1) does not fit (no real tensor comes near).
void check_bin_arithmetic(OpValidator& v, const kn_tensor& big, const char* big_name,
                          const kn_tensor& small, const char* small_name) {
  for (int i = 2; i < 4; ++i) {
    const __int128 need = __int128(small.shape[i]) * (__int128(big.shape[i]) + 1) + small.shape[i];
    const bool overflow = need > INT64_MAX;
    v.require(!overflow, KN_ERR_INVALID_ARGUMENT, small_name, ": output size ", small.shape[i],
              " over input size ", big.shape[i], " of ", big_name,
              " overflows int64 in the bin arithmetic");
  }
}

// torch: "Expected input to have non-zero size for non-batch dimensions".
void require_nonempty(OpValidator& v, const kn_tensor& t, const char* name, int first_dim) {
  for (int d = first_dim; d < 4; ++d)
    v.require(t.shape[d] != 0, KN_ERR_SHAPE_MISMATCH, name,
              ": expected a non-zero size in dims ", first_dim, "..3 (as torch), got shape (",
              t.shape[0], ", ", t.shape[1], ", ", t.shape[2], ", ", t.shape[3], ") with dim ", d,
              " empty");
}

}  // namespace

extern "C" {

kn_status kn_adaptive_avg_pool2d_forward(const kn_tensor* x, const kn_tensor* y, const kn_exec* ex) {
  return kn::capi::guard("kn_adaptive_avg_pool2d_forward", [&] {
    OpValidator v("kn_adaptive_avg_pool2d_forward");
    const kn_tensor& X = v.input(x, "x", 4);
    const kn_tensor& Y = v.output(y, "y", 4);
    require_nonempty(v, X, "x", 2);
    v.expect_shape(Y, "y", {{X.shape[0], "N from x"}, {X.shape[1], "C from x"}, {-1}, {-1}});
    check_bin_arithmetic(v, X, "x", Y, "y");
    v.run(
        ex, [&](const kn::CpuContext& ctx) { kn::cpu::adaptive_avg_pool2d_forward(X, Y, ctx); },
        [&](const auto& ctx) { kn::cuda::adaptive_avg_pool2d_forward(X, Y, ctx); });
  });
}

kn_status kn_adaptive_avg_pool2d_backward(const kn_tensor* dy, const kn_tensor* dx,
                                          const kn_exec* ex) {
  return kn::capi::guard("kn_adaptive_avg_pool2d_backward", [&] {
    OpValidator v("kn_adaptive_avg_pool2d_backward");
    const kn_tensor& DY = v.input(dy, "dy", 4);
    const kn_tensor& DX = v.output(dx, "dx", 4);
    require_nonempty(v, DY, "dy", 1);
    require_nonempty(v, DX, "dx", 2);
    v.expect_shape(DY, "dy", {{DX.shape[0], "N from dx"}, {DX.shape[1], "C from dx"}, {-1}, {-1}});
    check_bin_arithmetic(v, DX, "dx", DY, "dy");
    v.run(
        ex, [&](const kn::CpuContext& ctx) { kn::cpu::adaptive_avg_pool2d_backward(DY, DX, ctx); },
        [&](const auto& ctx) { kn::cuda::adaptive_avg_pool2d_backward(DY, DX, ctx); });
  });
}

kn_status kn_adaptive_max_pool2d_forward(const kn_tensor* x, const kn_tensor* y,
                                         const kn_tensor* indices, const kn_exec* ex) {
  return kn::capi::guard("kn_adaptive_max_pool2d_forward", [&] {
    OpValidator v("kn_adaptive_max_pool2d_forward");
    const kn_tensor& X = v.input(x, "x", 4);
    const kn_tensor& Y = v.output(y, "y", 4);
    const kn_tensor& I = v.output(indices, "indices", 4, kn::capi::Kind::Index);
    require_nonempty(v, X, "x", 1);
    v.expect_shape(Y, "y", {{X.shape[0], "N from x"}, {X.shape[1], "C from x"}, {-1}, {-1}});
    v.same_shape(Y, "y", I, "indices");
    check_bin_arithmetic(v, X, "x", Y, "y");
    check_index_width(v, I, X, "x");
    v.run(
        ex, [&](const kn::CpuContext& ctx) { kn::cpu::adaptive_max_pool2d_forward(X, Y, I, ctx); },
        [&](const auto& ctx) { kn::cuda::adaptive_max_pool2d_forward(X, Y, I, ctx); });
  });
}

kn_status kn_adaptive_max_pool2d_backward(const kn_tensor* dy, const kn_tensor* indices,
                                          const kn_tensor* dx, const kn_exec* ex) {
  return kn::capi::guard("kn_adaptive_max_pool2d_backward", [&] {
    OpValidator v("kn_adaptive_max_pool2d_backward");
    const kn_tensor& DY = v.input(dy, "dy", 4);
    const kn_tensor& I = v.input(indices, "indices", 4, kn::capi::Kind::Index);
    const kn_tensor& DX = v.output(dx, "dx", 4);
    require_nonempty(v, DY, "dy", 1);
    require_nonempty(v, DX, "dx", 2);
    v.expect_shape(DY, "dy", {{DX.shape[0], "N from dx"}, {DX.shape[1], "C from dx"}, {-1}, {-1}});
    v.same_shape(DY, "dy", I, "indices");
    check_bin_arithmetic(v, DX, "dx", DY, "dy");
    check_index_width(v, I, DX, "dx");
    v.run(
        ex, [&](const kn::CpuContext& ctx) { kn::cpu::adaptive_max_pool2d_backward(DY, I, DX, ctx); },
        [&](const auto& ctx) { kn::cuda::adaptive_max_pool2d_backward(DY, I, DX, ctx); });
  });
}

}  // extern "C"
