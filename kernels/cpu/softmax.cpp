// Softmax and log-softmax along one dim on the CPU.
//   x, y, dy, dx: one shape (any ndim >= 1, any strides); C = shape[dim];
//   every row (the C elements along dim, other indices fixed) on its own:
//   softmax     forward:  m = max x; y = exp(x - m) / sum exp(x - m)
//               backward: dx = y * (dy - sum(dy * y))
//   log_softmax forward:  y = (x - m) - log sum exp(x - m)
//               backward: dx = dy - exp(y) * sum(dy)
// Rows are split across threads (each row is computed by one thread, in a
// fixed order: results do not depend on the thread count). Maxima and
// exponentials are in T (float32 uses fast_expf, vectorised); every row sum
// is accumulated in double in 16 fixed-order lanes. A row whose elements are
// contiguous in every operand (dim innermost) takes the unit-stride loops,
// which the compiler vectorises; other rows use the strided loops.
// Lets GCC if-convert fast_expf's clamps and vectorise the exp loops (FP
// exceptions are never enabled or inspected by libkernels).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "fp-contract=fast")
#endif
#include <array>
#include <cmath>
#include <limits>

#include "kernels/internal/dim_rows.hpp"
#include "kernels/internal/dispatch.hpp"
#include "kernels/internal/simd.hpp"
#include "kernels/cpu/softmax_row.hpp"
#include "kernels/ops/softmax.hpp"

namespace kn::cpu {
namespace {

// KN_SIMD_CLONES: each row is computed by one thread, so the clone's FMA
// contraction cannot make results depend on the thread count.
template <typename T>
KN_SIMD_CLONES void forward_row(bool log, int64_t n, const T* x, int64_t sx, T* y, int64_t sy) {
  const T m = row_max(n, x, sx);
  if (log) {
    // (x - m) - log(sum), not x - (m + log(sum)): m + log(sum) rounded to T
    // loses ulp(m) (1e-3 at m = 1e4).
    const T ls = T(std::log(row_sum_exp<T>(n, x, sx, m, nullptr, 0)));
    if (sx == 1 && sy == 1) {
      for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) - ls;
    } else {
      for (int64_t i = 0; i < n; ++i) y[i * sy] = (x[i * sx] - m) - ls;
    }
    return;
  }
  const T inv = T(1.0 / row_sum_exp<T>(n, x, sx, m, y, sy));
  if (sy == 1) {
    for (int64_t i = 0; i < n; ++i) y[i] *= inv;
  } else {
    for (int64_t i = 0; i < n; ++i) y[i * sy] *= inv;
  }
}

template <typename T>
KN_SIMD_CLONES void backward_row(bool log, int64_t n, const T* dy, int64_t sdy, const T* y, int64_t sy, T* dx,
                  int64_t sdx) {
  const bool unit = sdy == 1 && sy == 1 && sdx == 1;
  if (log) {
    const T s = T(row_dot<T>(n, dy, sdy, nullptr, 0));
    if (unit) {
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] - exp_of<T>(y[i]) * s;
    } else {
      for (int64_t i = 0; i < n; ++i) dx[i * sdx] = dy[i * sdy] - exp_of<T>(y[i * sy]) * s;
    }
    return;
  }
  const T s = T(row_dot<T>(n, dy, sdy, y, sy));
  if (unit) {
    for (int64_t i = 0; i < n; ++i) dx[i] = y[i] * (dy[i] - s);
  } else {
    for (int64_t i = 0; i < n; ++i) dx[i * sdx] = y[i * sy] * (dy[i * sdy] - s);
  }
}

}  // namespace

void softmax_forward(bool log, int dim, const kn_tensor& x, const kn_tensor& y,
                     const CpuContext& ctx) {
  if (numel(x) == 0) return;
  dispatch_float(x.dtype, log ? "kn_log_softmax_forward" : "kn_softmax_forward", [&](auto tag) {
    using T = decltype(tag);
    const int64_t n = x.shape[dim], sx = x.strides[dim], sy = y.strides[dim];
    parallel_dim_rows<2>({byte_row_view(y, dim), byte_row_view(x, dim)}, {y.data, x.data}, n,
                         ctx.num_threads, [&](const std::array<char*, 2>& p) {
                           forward_row<T>(log, n, reinterpret_cast<const T*>(p[1]), sx,
                                          reinterpret_cast<T*>(p[0]), sy);
                         }, {0, row_prefetch_bytes(x, dim)});  // x's next row (row_prefetch.hpp)
  });
}

void softmax_backward(bool log, int dim, const kn_tensor& dy, const kn_tensor& y,
                      const kn_tensor& dx, const CpuContext& ctx) {
  if (numel(dx) == 0) return;
  dispatch_float(y.dtype, log ? "kn_log_softmax_backward" : "kn_softmax_backward", [&](auto tag) {
    using T = decltype(tag);
    const int64_t n = y.shape[dim], sdy = dy.strides[dim], sy = y.strides[dim],
                  sdx = dx.strides[dim];
    parallel_dim_rows<3>(
        {byte_row_view(dx, dim), byte_row_view(dy, dim), byte_row_view(y, dim)},
        {dx.data, dy.data, y.data}, n, ctx.num_threads, [&](const std::array<char*, 3>& p) {
          backward_row<T>(log, n, reinterpret_cast<const T*>(p[1]), sdy,
                          reinterpret_cast<const T*>(p[2]), sy, reinterpret_cast<T*>(p[0]), sdx);
        });
  });
}

}  // namespace kn::cpu
